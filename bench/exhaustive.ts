// The exhaustive mode's figures (issue 10), for `npm run bench` (bench/
// bench.ts puts them under "exhaustive" in bench/results.json), or alone:
//
//   npx tsx bench/exhaustive.ts [--quick] [--seconds S] [--out FILE]
//
// 1. bpf-ma in `fixed` proved depth by depth within a time budget (60 s),
//    on worker threads and in one thread: states, transitions and seconds
//    at the end of each completed depth, states per second.
// 2. The uniform random exploration's distinct states per CPU-second, on
//    the same policy and configuration: as explore() counts them (32-bit
//    fingerprints, harness/fingerprint.ts) and with the exhaustive mode's
//    exact keys (harness/statekey.ts), beside SPIN's figure from the issue.
// 3. Every zoo variant in its configuration: the shortest counterexample
//    exhaustive mode finds, its length, the states it took.
// 4. (issue 20) bpf-ma in `fixed` to depths 5, 6 and 7 on two workers, each
//    in a process of its own: states, transitions, seconds, CPU seconds,
//    peak resident memory, the collision bound; and at depth 5 the states
//    of the search with sleep sets against the search without them, key
//    by key (`--depths 5,6,7`, `--only-depths` for this part alone).
// Wall-clock seconds except where it says CPU; the load average at the
// start is recorded (the figures move with it).
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Violation } from '../spec/kernel/types.ts';
import { ZOO, findPolicy } from '../spec/policies/index.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { cmdArbitrary, type Cmd } from '../harness/commands.ts';
import { CONFIGS, type CheckConfig } from '../harness/config.ts';
import { exhaustive, type ExhaustiveResult } from '../harness/exhaustive.ts';
import { exhaustiveParallel } from '../harness/exhaustive/parallel.ts';
import { ROOT } from '../harness/fixture.ts';
import { Sim, genCtx } from '../harness/sim.ts';
import { stateKey } from '../harness/statekey.ts';

/** SPIN on a Promela model of the RFC flavour (issue 10). */
export const SPIN = { states: 1_056_344, seconds: 0.87, statesPerSecond: Math.round(1_056_344 / 0.87), source: 'issue 10: SPIN, Promela model of the RFC flavour' };

const cpuSeconds = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};

function proof(r: ExhaustiveResult, workers: number) {
  return {
    workers,
    provedDepth: r.provedDepth,
    complete: !r.truncated && !r.counterexample,
    sound: r.sound,
    states: r.states,
    transitions: r.transitions,
    seconds: r.seconds,
    statesPerSecond: r.statesPerSecond,
    transitionsPerSecond: r.transitionsPerSecond,
    /** cumulative at the end of each completed depth: what --depth d reports */
    levels: r.levels,
  };
}

/** Uniform generation's distinct states per CPU-second over pre-generated
 *  command lists run as explore() runs them, counted by fingerprint (as
 *  explore does) and, in a second pass, by exact key after each command. */
export function uniformStates(policy: Policy<unknown>, cfg: CheckConfig, lists: Cmd[][]) {
  const pass = (exact: boolean) => {
    const fps = new Set<number>();
    const keys = new Set<string>();
    let steps = 0;
    let commands = 0;
    const c0 = process.cpuUsage();
    for (const cmds of lists) {
      const sim = new Sim(policy, cfg, exact ? {} : { states: fps });
      sim.k.keepHistory = exact;
      try {
        for (const c of cmds) {
          if (sim.over) break;
          sim.exec(c);
          commands++;
          if (exact) keys.add(stateKey(sim));
        }
        sim.finish();
      } catch (e) {
        if (!(e instanceof Violation)) throw e;
      }
      steps += sim.k.steps;
    }
    const s = cpuSeconds(c0);
    const distinct = exact ? keys.size : fps.size;
    return { distinctStates: distinct, commands, steps, cpuSeconds: Number(s.toFixed(2)), statesPerSecond: Math.round(distinct / s), commandsPerSecond: Math.round(commands / s) };
  };
  return { fingerprints: pass(false), exactKeys: pass(true) };
}

/** One search to a depth on `workers` threads, in this process (peak
 *  resident memory is the process's). */
export async function depthRun(depth: number, workers: number) {
  const c0 = process.cpuUsage();
  const r = await exhaustiveParallel(findPolicy('bpf-ma')!, CONFIGS.fixed!, { depth, workers });
  return {
    depth,
    workers,
    complete: !r.truncated && !r.counterexample && r.provedDepth === depth,
    states: r.states,
    transitions: r.transitions,
    slept: r.slept,
    revisits: r.revisits,
    seconds: r.seconds,
    cpuSeconds: Number(cpuSeconds(c0).toFixed(2)),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    collisionBound: r.collisionBound,
    collisionBirthday: r.collisionBirthday,
    loadAverageAtStart: loadavg()[0],
  };
}

/** Depths 5.. on two workers, each in a child process; and the states at
 *  depth 5 with and without sleep sets, key by key (hashed keys). */
export function depthsBench(depths: number[], log: (s: string) => void) {
  const runs = depths.map((d) => {
    const load = loadavg()[0]!;
    const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--depth-run', String(d)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const r = { ...JSON.parse(out.trim().split('\n').at(-1)!), loadAverageAtStart: Math.round(load * 100) / 100 };
    log(`exhaustive bpf-ma [fixed] depth ${d}, 2 workers: ${r.states} states, ${r.transitions} transitions, ${r.seconds} s, ${r.cpuSeconds} CPU-s, ${r.peakRssMb} MB peak (load ${r.loadAverageAtStart})`);
    return r;
  });
  const bpfMa = findPolicy('bpf-ma')!;
  const plainKeys = new Set<string>();
  const keys = new Set<string>();
  const plain = exhaustive(bpfMa, CONFIGS.fixed!, { depth: 5, sleepSets: false, keys: plainKeys });
  const sleep = exhaustive(bpfMa, CONFIGS.fixed!, { depth: 5, keys });
  let same = plainKeys.size === keys.size;
  for (const k of keys) if (!plainKeys.has(k)) same = false;
  const sameStates = { depth: 5, plain: { states: plain.states, transitions: plain.transitions, levels: plain.levels.map((l) => l.states) }, sleepSets: { states: sleep.states, transitions: sleep.transitions, levels: sleep.levels.map((l) => l.states) }, sameKeySets: same };
  log(`depth 5: ${plain.states} states / ${plain.transitions} transitions without sleep sets, ${sleep.states} / ${sleep.transitions} with; same key sets: ${same}`);
  return { runs, sameStates };
}

export async function exhaustiveBench(o: { quick?: boolean; seconds?: number; log?: (s: string) => void } = {}) {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const seconds = o.seconds ?? (o.quick ? 10 : 60);
  const fixed = CONFIGS.fixed!;
  const bpfMa = findPolicy('bpf-ma')!;
  const workers = availableParallelism();
  const loadAverageAtStart = loadavg().map((x) => Math.round(x * 100) / 100);

  const par = await exhaustiveParallel(bpfMa, fixed, { depth: 8, maxSeconds: seconds, workers });
  log(`exhaustive bpf-ma [fixed], ${workers} workers, ${seconds} s: proved to depth ${par.provedDepth} (${par.levels.at(-1)?.states} states, ${par.levels.at(-1)?.transitions} transitions at ${par.levels.at(-1)?.seconds} s), ${par.statesPerSecond} states/s`);
  const one = exhaustive(bpfMa, fixed, { depth: 8, maxSeconds: seconds });
  log(`exhaustive bpf-ma [fixed], this thread, ${seconds} s: proved to depth ${one.provedDepth}, ${one.statesPerSecond} states/s`);

  const lists = fc.sample(fc.array(cmdArbitrary(genCtx(bpfMa, fixed)), { maxLength: fixed.maxCommands, size: 'max' }), { seed: 1, numRuns: o.quick ? 300 : 2000 });
  const uniform = uniformStates(bpfMa, fixed, lists);
  log(`uniform bpf-ma [fixed]: ${uniform.fingerprints.statesPerSecond} distinct fingerprints/CPU-s, ${uniform.exactKeys.statesPerSecond} distinct exact states/CPU-s`);

  const zoo: Record<string, unknown> = {};
  for (const p of ZOO) {
    const cfg = CONFIGS[p.bug!.config ?? 'fixed']!;
    const r = exhaustive(p, cfg, { depth: o.quick ? 4 : 6, maxSeconds: o.quick ? 10 : 60 });
    const cx = r.counterexample;
    zoo[p.name] = {
      config: cfg.name,
      found: !!cx && p.bug!.invariants.includes(cx.invariant),
      invariant: cx?.invariant ?? null,
      shortestLength: cx?.commands.length ?? null,
      provedDepth: r.provedDepth,
      states: r.states,
      transitions: r.transitions,
      seconds: r.seconds,
    };
    log(`exhaustive ${p.name} [${cfg.name}]: ${cx ? `${cx.invariant}, ${cx.commands.length} commands` : `none to depth ${r.provedDepth}`} (${r.states} states, ${r.seconds} s)`);
  }
  const found = Object.values(zoo).filter((z) => (z as { found: boolean }).found).length;
  return {
    what: `bpf-ma [fixed] proved depth by depth for ${seconds} s (alphabet of ${par.alphabet} letters, sleep sets, canonical keys hashed to 128 bits), on ${workers} worker threads and in one thread; uniform = explore()'s command lists run without fast-check, distinct states per CPU-second; spin = the issue's figure; zoo = each variant's shortest counterexample in its configuration (depth <= ${o.quick ? 4 : 6})`,
    loadAverageAtStart,
    seconds,
    workers: proof(par, workers),
    oneThread: proof(one, 0),
    uniform,
    spin: SPIN,
    zooFound: `${found}/${ZOO.length}`,
    zoo,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values: v } = parseArgs({ options: { quick: { type: 'boolean' }, seconds: { type: 'string' }, out: { type: 'string' }, depths: { type: 'string' }, 'only-depths': { type: 'boolean' }, 'depth-run': { type: 'string' } }, strict: true });
  if (v['depth-run']) {
    process.stdout.write(JSON.stringify(await depthRun(Number(v['depth-run']), 2)) + '\n');
    process.exit(0);
  }
  const log = (s: string) => process.stderr.write(s + '\n');
  const depths = depthsBench((v.depths ?? (v.quick ? '5' : '5,6,7')).split(',').map(Number), log);
  const r = v['only-depths'] ? { depths } : { ...(await exhaustiveBench({ quick: !!v.quick, ...(v.seconds ? { seconds: Number(v.seconds) } : {}) })), depths };
  const text = JSON.stringify(r, null, 2) + '\n';
  writeFileSync((v.out as string | undefined) ?? join(ROOT, 'bench', 'exhaustive-results.json'), text);
  process.stdout.write(text);
}
