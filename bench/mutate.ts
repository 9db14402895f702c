// `npx tsx bench/mutate.ts [--mutants N] [--runs N] [--seed N] [--only TEXT] [--no-confirm]`:
// a mutation run of spec/ (issue 21, must-show 4). It lists one-line
// mutants of the families' code (a statement deleted, a comparison or an
// arithmetic sign flipped, a boolean flipped, two adjacent steps swapped),
// picks N of them with a seeded hash (the same N every time), and for each:
// writes the mutated line into the file, runs a small check of the
// family's policies in a fresh process (the default budget's first runs,
// seed 1, the configurations that reach the file's code; a survivor is
// checked again with the whole default budget unless --no-confirm), and restores the
// file (also on Ctrl-C and on any error). A mutant is killed when the check
// ends with a violation (invariant named), or when it stops the run as an
// error; it survives when every invariant held. Whether a survivor is
// equivalent (the mutation changes nothing the kernel could observe) is a
// reader's judgement: EQUIVALENT below holds the reasons, by mutant id.
// Writes bench/mutate-results.json. A measurement, not a test.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_RUNS } from '../harness/cli.ts';

const ROOT = join(import.meta.dirname, '..');

/** Which policies and configurations run a family's code. */
const CHECKS: Record<string, string[]> = {
  memalloc: ['bpf-ma@fixed', 'bpf-ma@buckets', 'bpf-ma@rt'],
  upstream: ['bpf-ma-upstream@fixed', 'bpf-ma-upstream@buckets', 'bpf-ma-upstream@rt'],
  reuse: ['reuse-after-rcu-gp@fixed', 'free-after-rcu-gp@fixed', 'control/reuse-after-rcu-gp-fixed@fixed'],
  slub: ['slub-pca@fixed', 'slub-pca@rt'],
  percpu: ['percpu-on-demand@percpu', 'percpu-on-demand@fixed'],
  percpu_chunk: ['percpu-chunk@fixed', 'control/percpu-chunk-fixed@fixed'],
};
/** Files that hold only types, tables or coverage: no mutant there. */
const SKIP = /situations\.ts$|ops\.ts$/;

/** Survivors judged equivalent, with the reason (mutant id -> why). */
const EQUIVALENT: Record<string, string> = {
  // spec/slub
  '18c444f7': "the test user's choice (spec/slub/user.ts), not SLUB's code: a batch after its grace period goes back by kmem_cache_free_bulk() or by kmem_cache_free() per element; both free the same objects correctly, and both paths still run for other batches",
  '27032533': "a report of the model, not the kernel's code: pcaPush()'s slot-misuse check at objects[count]; every caller pushes at most count - used (refill_pca(), free_to_pca_bulk()) or after finding used < count (free_to_pca()), so it is silent either way",
  '04472af4': "s.freed is the model's use-after-free mark; the correct code touches s nowhere after kmem_cache_destroy(), so nothing reads it. That s is given back is judged by NoLeakAtTeardown (slab.structs), which this line does not change",
  // spec/percpu (seed 000's report text)
  '8b73c19b': "report text only (bytesText: whether exactly 1024 bytes prints as '1024 B' or '1 KiB'); no kernel state",
  'ee1a7b2a': "report text only (bytesText: whether exactly 1 MiB prints in KiB or MiB); no kernel state",
  // spec/memalloc
  '525658db': "alloc_bulk()'s flags is read only under PREEMPT_RT, where local_irq_save() overwrites it first: the initial value is dead",
  // spec/reuse
  '8eb41d71': "drain_mem_cache() takes free_by_rcu and waiting_for_gp whole, each with its own del_all: after irq_work_sync() nothing adds to free_by_rcu, and the only concurrent taker of waiting_for_gp (__free_rcu()) takes it with the same atomic xchg, so either order frees the same objects once",
  '3612f9fd': "system_wq or system_unbound_wq for free_mem_alloc_deferred(): the work reads no this-CPU state, and a bound work whose CPU went offline runs elsewhere (workRunsOn), so it does the same wherever it runs",
  // spec/percpu_chunk
  '4ea02a21': "pcpu_setup_static()'s unit growth runs only when the static area needs 16 pages or more; every modelled geometry (SMALL_GEOM 2 pages, PAGE_GEOM 5) stops before it either way",
  '04519d71': "a map entry is never 0 (every block has a size; i = 0 never has a head), so m[i - 1] > 0 and >= 0 agree",
  '12e30026': "inside pcpu_chunk_relocate()'s `oslot != nslot`, `oslot < nslot` and `oslot <= nslot` agree",
  '7934a887': "the model's own teardown (not in percpu.c): flush only names the cache flush in pcpu_unmap()'s trace; the model has no TLB",
};

export interface Mutant {
  id: string;
  file: string;
  /** 1-based */
  line: number;
  op: string;
  before: string;
  after: string;
  /** a swap replaces this line and the next */
  next?: { before: string; after: string };
}

const FLIPS: [string, RegExp, (m: string) => string][] = [
  ['<  -> <=', /(?<![<=!>])<(?![<=])(?=\s)/, () => '<='],
  ['<= -> <', /<=/, () => '<'],
  ['>  -> >=', /(?<![=>-])>(?![>=])(?=\s)/, () => '>='],
  ['>= -> >', />=/, () => '>'],
  ['=== -> !==', /===/, () => '!=='],
  ['!== -> ===', /!==/, () => '==='],
  ['&& -> ||', /&&/, () => '||'],
  ['|| -> &&', /\|\|/, () => '&&'],
  ['+1 -> -1', /\+1\b/, () => '-1'],
  ['-1 -> +1', /(?<=[(,]\s*)-1\b/, () => '+1'],
  ['true -> false', /\btrue\b/, () => 'false'],
  ['false -> true', /\bfalse\b/, () => 'true'],
];

/** Every mutant of one file. */
function mutantsOf(file: string): Mutant[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Mutant[] = [];
  // the kernel's code, not declarations, field accessors (fields.ts use()),
  // coverage counts or a structure's initial `freed = false`
  const code = (s: string): boolean =>
    /^\s+\S/.test(s) && !/^\s*(\/\/|\*|\/\*)/.test(s) && !/^\s*(import|export (type|interface)|readonly|private|protected|[a-z_]+\??:)/.test(s) && !/\buse(Loc)?\(|\.saw\(|\bfail\(|^\s*freed = /.test(s);
  const add = (m: Omit<Mutant, 'id'>): void => {
    const id = createHash('sha256').update(`${m.file}:${m.line}:${m.op}`).digest('hex').slice(0, 8);
    out.push({ id, ...m });
  };
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!;
    if (!code(s)) continue;
    // a step deleted: a whole `yield* f(...);` statement
    if (/^\s+yield\* [^;]+;\s*$/.test(s)) add({ file, line: i + 1, op: 'delete step', before: s, after: s.replace(/yield\*/, '// mutant: yield*') });
    // two adjacent steps swapped
    const t = lines[i + 1];
    if (t !== undefined && /^\s+yield\* [^;]+;\s*$/.test(s) && /^\s+yield\* [^;]+;\s*$/.test(t)) add({ file, line: i + 1, op: 'swap with next step', before: s, after: t, next: { before: t, after: s } });
    // conditions and arithmetic
    if (!/\b(if|while|return|for)\b|[-+]1\b|\btrue\b|\bfalse\b/.test(s)) continue;
    for (const [op, re, to] of FLIPS) {
      const m = re.exec(s);
      if (!m) continue;
      add({ file, line: i + 1, op, before: s, after: s.slice(0, m.index) + to(m[0]) + s.slice(m.index + m[0].length) });
    }
  }
  return out;
}

export function allMutants(): Mutant[] {
  const out: Mutant[] = [];
  for (const dir of Object.keys(CHECKS)) {
    for (const f of readdirSync(join(ROOT, 'spec', dir)).sort()) {
      if (!f.endsWith('.ts') || SKIP.test(f)) continue;
      out.push(...mutantsOf(`spec/${dir}/${f}`));
    }
  }
  return out;
}

/** N mutants, picked by hash order (stable across runs and machines). */
function pick(all: Mutant[], n: number, seed: number): Mutant[] {
  const key = (m: Mutant): string => createHash('sha256').update(`${seed}:${m.id}`).digest('hex');
  return [...all].sort((a, b) => (key(a) < key(b) ? -1 : 1)).slice(0, n);
}

function apply(m: Mutant, lines: string[]): string[] {
  const out = [...lines];
  if (out[m.line - 1] !== m.before) throw new Error(`${m.file}:${m.line} changed since the mutants were listed`);
  out[m.line - 1] = m.after;
  if (m.next) out[m.line] = m.next.after;
  return out;
}

interface Outcome {
  verdict: 'killed' | 'killed (error)' | 'survived' | 'equivalent' | 'does not compile';
  by?: string;
  seconds: number;
}

/** The check, in a fresh process (so the mutated source is what loads). */
function check(dir: string, runs: number): { verdict: Outcome['verdict']; by?: string } {
  const args = ['tsx', join(ROOT, 'bench', 'mutate.ts'), '--check', CHECKS[dir]!.join(','), '--runs', String(runs)];
  try {
    const out = execFileSync('npx', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { verdict: Outcome['verdict']; by?: string };
    return r;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    const text = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    if (/SyntaxError|TransformError|ERROR:/.test(text)) return { verdict: 'does not compile' };
    return { verdict: 'killed (error)', by: text.trim().split('\n').find((l) => /Error|threw/.test(l))?.slice(0, 160) ?? 'the check crashed' };
  }
}

/** The child: explore each policy@config, seed 1; the first violation kills. */
async function child(list: string, runs: number): Promise<void> {
  const { CONFIGS } = await import('../harness/config.ts');
  const { explore } = await import('../harness/explore.ts');
  const { findPolicy } = await import('../spec/policies/index.ts');
  for (const pc of list.split(',')) {
    const [name, cfg] = pc.split('@') as [string, string];
    let r;
    try {
      r = explore(findPolicy(name)!, CONFIGS[cfg]!, { seed: 1, runs });
    } catch (e) {
      console.log(JSON.stringify({ verdict: 'killed (error)', by: `${pc}: ${(e as Error).message.split('\n')[0]!.slice(0, 160)}` }));
      return;
    }
    if (r.counterexample) {
      console.log(JSON.stringify({ verdict: 'killed', by: `${pc}: ${r.counterexample.invariant} (${r.counterexample.commands.length} commands)` }));
      return;
    }
  }
  console.log(JSON.stringify({ verdict: 'survived' }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mutants: { type: 'string', default: '40' },
      runs: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '21' },
      only: { type: 'string' },
      check: { type: 'string' },
      list: { type: 'boolean', default: false },
      confirm: { type: 'boolean', default: true },
    },
  });
  const runs = Number(values.runs);
  if (values.check) return child(values.check, runs);
  const all = allMutants();
  const chosen = values.only ? all.filter((m) => m.id === values.only || `${m.file}:${m.line}` === values.only) : pick(all, Number(values.mutants), Number(values.seed));
  if (values.list) {
    for (const m of chosen) console.log(`${m.id} ${m.file}:${m.line} ${m.op}: ${m.after.trim()}`);
    return;
  }
  const results: (Mutant & Outcome)[] = [];
  let restore: (() => void) | null = null;
  const onSignal = (): void => {
    restore?.();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  for (const m of chosen) {
    const path = join(ROOT, m.file);
    const text = readFileSync(path, 'utf8');
    restore = () => writeFileSync(path, text);
    const t0 = performance.now();
    let o: { verdict: Outcome['verdict']; by?: string };
    try {
      writeFileSync(path, apply(m, text.split('\n')).join('\n'));
      o = check(m.file.split('/')[1]!, runs);
      // a survivor of the first runs gets the default check's whole budget
      // (allocspec check: DEFAULT_RUNS per policy and configuration)
      if (o.verdict === 'survived' && values.confirm && runs < DEFAULT_RUNS) {
        o = check(m.file.split('/')[1]!, DEFAULT_RUNS);
        if (o.by) o.by += ` (at the default budget, ${DEFAULT_RUNS} runs)`;
      }
    } finally {
      restore();
      restore = null;
    }
    if (o.verdict === 'survived' && EQUIVALENT[m.id]) o = { verdict: 'equivalent', by: EQUIVALENT[m.id] };
    const r = { ...m, ...o, seconds: Math.round((performance.now() - t0) / 1000) };
    results.push(r);
    console.log(`${m.id} ${m.file}:${m.line} ${m.op}: ${r.verdict}${r.by ? ` — ${r.by}` : ''} (${r.seconds} s)`);
  }
  const count = (v: string): number => results.filter((r) => r.verdict === v).length;
  const summary = { killed: count('killed'), killedByError: count('killed (error)'), survived: count('survived'), equivalent: count('equivalent'), notCompiling: count('does not compile') };
  console.log(JSON.stringify(summary));
  writeFileSync(join(ROOT, 'bench', 'mutate-results.json'), `${JSON.stringify({ what: 'one-line mutants of spec/, each checked with seed 1 at the given runs per policy and configuration, a survivor again at the default budget (bench/mutate.ts); the machine was shared', runs, seed: Number(values.seed), summary, results }, null, 2)}\n`);
}

await main();
