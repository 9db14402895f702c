// `npx tsx bench/deep.ts`: issue 9's deep-search measurement. For each
// hand-built deep variant (spec/policies/deep-*.ts, not in the zoo) and for
// every zoo variant (spec/policies/index.ts, ZOO), the runs explore() needs
// to find a counterexample, seeds 1..20, within 5000 runs, under the
// 'uniform' generation (the fixed command mix closest to the old default;
// it does draw the new `burst` command and step budgets up to 64) and under 'swarm' (the default), with the shrunk length of what it found.
// Written to bench/deep-results.json. A benchmark, not a test: nothing here
// asserts. Single-threaded; `--part deep|zoo` runs half (to run the halves
// side by side), `--merge A B` joins two partial files.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CONFIGS, type CheckConfig } from '../harness/config.ts';
import type { Cmd } from '../harness/commands.ts';
import { explore, runCommands, type Generation } from '../harness/explore.ts';
import { bpfMa } from '../spec/policies/bpf-ma.ts';
import { ROOT } from '../harness/fixture.ts';
import { deepActiveAsFlag } from '../spec/policies/deep-active-as-flag.ts';
import { deepAllocBulkClampsAfterLoop } from '../spec/policies/deep-alloc-bulk-clamps-after-loop.ts';
import { deepAllocBulkCountsAfterLoop } from '../spec/policies/deep-alloc-bulk-counts-after-loop.ts';
import { ZOO } from '../spec/policies/index.ts';
import type { Policy } from '../spec/policies/policy.ts';

/** The buckets configuration with every request in the 128-byte bucket
 *  (89 + 8 bytes): low 32, high 96, batch 48, so a refill is one long
 *  alloc_bulk() loop. In the plain buckets configuration the 4096 and 2048
 *  byte buckets (batch 3 and 6) reach the same windows a few steps in. */
const BUCKETS_128: CheckConfig = { ...CONFIGS.buckets!, name: 'buckets-128', allocSizes: [89] };
/** buckets-128 with no injected fault and a slab pool that never runs
 *  out: no kmalloc failure can cut a refill loop short, so a window after
 *  the loop is only reached through the whole loop. */
const LONG_LOOP: CheckConfig = { ...BUCKETS_128, name: 'buckets-128-nofault', faults: false, objects: 200 };
/** The same under PREEMPT_RT: the refill runs in the irq_work kthread, a
 *  task that a program may preempt between iterations. */
const RT_LONG_LOOP: CheckConfig = { ...LONG_LOOP, name: 'rt-buckets-128-nofault', preemptRt: true, rcuTraceImpliesRcuGp: true };

interface Subject {
  name: string;
  policy: Policy<any>;
  cfg: CheckConfig;
  /** the interleaving class */
  kind: string;
  /** the hand-built counterexample: it breaks the variant, bpf-ma survives it */
  hand?: Cmd[];
}

const prog = (cpu: number, steps: number): Cmd => ({ t: 'prog', cpu, op: 'alloc', arg: 0, count: 1, sleepable: false, steps });
const step = (cpu: number, steps: number): Cmd => ({ t: 'step', cpu, steps });
const times = (n: number, c: Cmd): Cmd[] => Array.from({ length: n }, () => c);

export const DEEP: Subject[] = [
  {
    name: 'deep/active-as-flag',
    policy: deepActiveAsFlag,
    cfg: CONFIGS.fixed!,
    kind: 'burst: two NMIs inside one operation on one CPU',
    hand: [prog(0, 0), prog(0, 0), { t: 'prog', cpu: 0, op: 'free', arg: 0, count: 1, sleepable: false, steps: 2 }, { t: 'nmi', cpu: 0, op: 'free', arg: 0 }, { t: 'nmi', cpu: 0, op: 'alloc', arg: 0 }],
  },
  {
    name: 'deep/alloc-bulk-counts-after-loop',
    policy: deepAllocBulkCountsAfterLoop,
    cfg: BUCKETS_128,
    kind: 'NMI at one step ~200 steps into a batch-48 alloc_bulk() in hardirq (or a burst of 4 NMI allocations inside the loop)',
    hand: [prog(0, 64), ...times(2, step(0, 64)), step(0, 14), { t: 'nmi', cpu: 0, op: 'alloc', arg: 0 }],
  },
  {
    name: 'deep/alloc-bulk-clamps-after-loop',
    policy: deepAllocBulkClampsAfterLoop,
    cfg: LONG_LOOP,
    kind: 'NMI at one step right after a whole batch-48 alloc_bulk() in hardirq (~400 steps)',
    hand: [prog(0, 64), ...times(5, step(0, 64)), step(0, 12), { t: 'nmi', cpu: 0, op: 'alloc', arg: 0 }],
  },
  {
    name: 'deep/alloc-bulk-clamps-after-loop@rt',
    policy: deepAllocBulkClampsAfterLoop,
    cfg: RT_LONG_LOOP,
    kind: 'a task preempting the RT irq_work kthread at one step right after a whole batch-48 alloc_bulk()',
    hand: [prog(0, 0), { t: 'irq', cpu: 0, steps: 64 }, ...times(5, step(0, 64)), step(0, 50), prog(0, 0), step(0, 0)],
  },
];

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Cell {
  /** k/20 */
  found: string;
  runsMedian: number | null;
  runsMax: number | null;
  shrunkMedian: number | null;
  shrunkMax: number | null;
  /** invariants of the counterexamples found, with counts */
  invariants: Record<string, number>;
  /** found with an invariant the variant does not declare */
  undeclared: number;
  /** per seed: runs to find, or null */
  perSeed: (number | null)[];
  cpuSeconds: number;
}

function measure(s: Subject, generation: Generation, seeds: number, runs: number): Cell {
  const c0 = process.cpuUsage();
  const found: number[] = [];
  const lengths: number[] = [];
  const perSeed: (number | null)[] = [];
  const invariants: Record<string, number> = {};
  let undeclared = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const r = explore(s.policy, s.cfg, { seed, runs, generation });
    const ce = r.counterexample;
    process.stderr.write(`  ${s.name} ${generation} seed ${seed}: ${ce ? `${r.runs} runs, ${ce.commands.length} commands, ${ce.invariant}` : `not found in ${r.runs} runs`}\n`);
    if (!ce) {
      perSeed.push(null);
      continue;
    }
    perSeed.push(r.runs);
    found.push(r.runs);
    lengths.push(ce.commands.length);
    invariants[ce.invariant] = (invariants[ce.invariant] ?? 0) + 1;
    if (!(s.policy.bug?.invariants ?? []).includes(ce.invariant)) undeclared++;
  }
  const cu = process.cpuUsage(c0);
  return {
    found: `${found.length}/${seeds}`,
    runsMedian: median(found),
    runsMax: found.length ? Math.max(...found) : null,
    shrunkMedian: median(lengths),
    shrunkMax: lengths.length ? Math.max(...lengths) : null,
    invariants,
    undeclared,
    perSeed,
    cpuSeconds: Math.round((cu.user + cu.system) / 1e4) / 100,
  };
}

/** The hand-built counterexample replayed on the variant and on bpf-ma. */
export function handCheck(s: Subject): { commands: number; variant: string; bpfMa: string } | null {
  if (!s.hand) return null;
  const v = runCommands(s.policy, s.cfg, s.hand).violation;
  const b = runCommands(bpfMa, s.cfg, s.hand).violation;
  return { commands: s.hand.length, variant: v ? `${v.invariant}: ${v.detail}` : 'clean', bpfMa: b ? `${b.invariant}: ${b.detail}` : 'clean' };
}

function subjects(part: string): Subject[] {
  const zoo = ZOO.map((p) => ({ name: p.name, policy: p, cfg: CONFIGS[p.bug!.config ?? 'fixed']!, kind: 'zoo' }));
  if (part === 'deep') return DEEP;
  if (part === 'zoo') return zoo;
  return [...DEEP, ...zoo];
}

function table(rows: Record<string, any>[]): string {
  const cell = (c: Cell): string =>
    c.runsMedian === null ? `0/${c.perSeed.length}` : `${c.runsMedian} / ${c.runsMax} (${c.found}), ${c.shrunkMedian} (${c.shrunkMax})`;
  const out = ['| variant | config | uniform: runs median / max (found), shrunk median (max) | swarm: same |', '| --- | --- | --- | --- |'];
  for (const r of rows) out.push(`| ${r.name} | ${r.config} | ${cell(r.uniform)} | ${cell(r.swarm)} |`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      part: { type: 'string', default: 'all' },
      seeds: { type: 'string', default: '20' },
      runs: { type: 'string', default: '5000' },
      out: { type: 'string' },
      merge: { type: 'boolean', default: false },
      only: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = v.out ?? join(ROOT, 'bench', 'deep-results.json');
  if (v.merge) {
    const parts = process.argv.slice(2).filter((a) => a.endsWith('.json') && a !== out).map((f) => JSON.parse(readFileSync(f, 'utf8')));
    const merged = { ...parts[0], rows: parts.flatMap((p) => p.rows), elapsedCpuSeconds: parts.reduce((a, p) => a + p.elapsedCpuSeconds, 0) };
    for (const r of merged.rows) {
      const d = DEEP.find((x) => x.name === r.name);
      if (d) r.hand = handCheck(d);
    }
    merged.table = table(merged.rows);
    writeFileSync(out, JSON.stringify(merged, null, 2) + '\n');
    process.stdout.write(merged.table + '\n');
    return;
  }
  const seeds = Number(v.seeds);
  const runs = Number(v.runs);
  let list = subjects(v.part!);
  // --only NAME: that subject if one has the name, else every name containing it
  if (v.only) list = list.some((s) => s.name === v.only) ? list.filter((s) => s.name === v.only) : list.filter((s) => s.name.includes(v.only!));
  const machine = { cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100) };
  const rows: Record<string, unknown>[] = [];
  const c0 = process.cpuUsage();
  for (const s of list) {
    const uniform = measure(s, 'uniform', seeds, runs);
    const swarm = measure(s, 'swarm', seeds, runs);
    const row = { name: s.name, policy: s.policy.name, config: s.cfg.name, kind: s.kind, hand: handCheck(s), declared: s.policy.bug?.invariants ?? [], uniform, swarm };
    rows.push(row);
    process.stderr.write(
      `${s.name} [${s.cfg.name}]: uniform ${uniform.found} median ${uniform.runsMedian} max ${uniform.runsMax} shrunk ${uniform.shrunkMedian} (${uniform.cpuSeconds} s); swarm ${swarm.found} median ${swarm.runsMedian} max ${swarm.runsMax} shrunk ${swarm.shrunkMedian} (${swarm.cpuSeconds} s)\n`,
    );
    // written after every row so a long run can be read (or stopped) midway
    write();
  }
  function write(): void {
    const cu = process.cpuUsage(c0);
    const results = {
      what: `runs explore() needs to find a counterexample (the run that found it counted), seeds 1..${seeds}, budget ${runs} runs, generation 'uniform' vs 'swarm'; shrunk = commands after shrinking; not found within the budget = not counted (found k/${seeds})`,
      machine,
      seeds,
      runs,
      elapsedCpuSeconds: Math.round((cu.user + cu.system) / 1e4) / 100,
      rows,
      table: table(rows as Record<string, any>[]),
    };
    writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  }
  write();
  process.stdout.write(table(rows as Record<string, any>[]) + '\n');
}

// run when invoked (npx tsx bench/deep.ts), not when imported for DEEP
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
