// `npm run bench`: exploration throughput and time-to-bug, written to
// bench/results.json. A benchmark, not a test: nothing here asserts a time.
// Single-thread figures are CPU seconds of this thread (process.cpuUsage),
// so a busy machine inflates them less than wall time would; the worker
// speedup is wall time (that is what workers buy). The load average at the
// start is recorded beside them.
import fc from 'fast-check';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Violation } from '../spec/kernel/types.ts';
import { CORRECT_POLICIES, ZOO } from '../spec/policies/index.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Io } from '../harness/check.ts';
import { cmdArbitrary, type Cmd } from '../harness/commands.ts';
import { CONFIGS, DEFAULT_PROFILE, type CheckConfig } from '../harness/config.ts';
import { explore } from '../harness/explore.ts';
import { exhaustive } from '../harness/exhaustive.ts';
import { ROOT } from '../harness/fixture.ts';
import { explorePct } from '../harness/pct.ts';
import { Sim, faultKinds, genCtx } from '../harness/sim.ts';
import { checkJobs } from '../harness/check.ts';
import { startupBench, startupDefaults } from './startup.ts';
import { exhaustiveBench } from './exhaustive.ts';

const cpuSeconds = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Command lists as fast-check generates them, generated up front. */
export function commandLists(policy: Policy<unknown>, cfg: CheckConfig, seed: number, n: number): Cmd[][] {
  return fc.sample(fc.array(cmdArbitrary(genCtx(policy, cfg)), { maxLength: cfg.maxCommands, size: 'max' }), { seed, numRuns: n });
}

/** Raw Sim: run pre-generated lists as explore's property does (states and
 *  coverage recorded), no fast-check in the loop. Best of `reps`. */
export function rawStepsPerSecond(policy: Policy<unknown>, cfg: CheckConfig, lists: Cmd[][], reps = 3): number {
  let best = 0;
  for (let rep = 0; rep < reps; rep++) {
    const states = new Set<number>();
    const situations = new Map<string, number>();
    let steps = 0;
    const c0 = process.cpuUsage();
    for (const cmds of lists) {
      const sim = new Sim(policy, cfg, { states, situations });
      try {
        for (const c of cmds) {
          if (sim.over) break;
          sim.exec(c);
        }
        sim.finish();
      } catch (e) {
        if (!(e instanceof Violation)) throw e;
      }
      steps += sim.k.steps;
    }
    best = Math.max(best, steps / cpuSeconds(c0));
  }
  return Math.round(best);
}

/** Through explore() (fast-check included): what one job of check runs,
 *  generation, fc.modelRun, the PCT share and the shrinking of known
 *  findings all in the CPU time, only spec steps counted. Best of `reps`
 *  (the first pays for warming the JIT up). */
export function fastCheckStepsPerSecond(policy: Policy<unknown>, cfg: CheckConfig, runs: number, reps = 5): number {
  let best = 0;
  for (let rep = 0; rep < reps; rep++) {
    const c0 = process.cpuUsage();
    const r = explore(policy, cfg, { seed: 1, runs });
    best = Math.max(best, r.steps / cpuSeconds(c0));
  }
  return Math.round(best);
}

interface FirstBug {
  seconds: number;
  length: number | null;
  invariant: string | null;
}

/** Time to the first (shrunk) counterexample as check finds it: the
 *  default configurations in order, seed + i each. */
function firstBug(policy: Policy<unknown>, seed: number, runs: number, strategy: 'uniform' | 'pct'): FirstBug {
  const c0 = process.cpuUsage();
  const names = policy.bug?.config ? [policy.bug.config] : DEFAULT_PROFILE;
  for (let i = 0; i < names.length; i++) {
    const cfg = CONFIGS[names[i]!]!;
    const r = strategy === 'pct' ? explorePct(policy, cfg, { seed: seed + i, runs }) : explore(policy, cfg, { seed: seed + i, runs });
    if (r.counterexample) return { seconds: cpuSeconds(c0), length: r.counterexample.commands.length, invariant: r.counterexample.invariant };
  }
  return { seconds: cpuSeconds(c0), length: null, invariant: null };
}

function summary(xs: FirstBug[]) {
  const found = xs.filter((x) => x.length !== null);
  return {
    medianSeconds: r3(median(xs.map((x) => x.seconds))),
    maxSeconds: r3(Math.max(...xs.map((x) => x.seconds))),
    found: `${found.length}/${xs.length}`,
    shrunkLength: found.length ? median(found.map((x) => x.length!)) : null,
    shrunkLengthMax: found.length ? Math.max(...found.map((x) => x.length!)) : null,
  };
}

export async function runBench(args: string[], io: Io): Promise<number> {
  const { values: v } = parseArgs({ args, options: { seeds: { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean' } }, strict: true });
  const seeds = Number(v.seeds ?? (v.quick ? 5 : 20));
  const out = (v.out as string | undefined) ?? join(ROOT, 'bench', 'results.json');
  const log = (s: string): void => io.err(s + '\n');
  const machine = { cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadAverageAtStart: loadavg().map(r3) };
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`);

  const fixed = CONFIGS.fixed!;
  const bpfMa = CORRECT_POLICIES.find((p) => p.name === 'bpf-ma')!;
  const raw: Record<string, number> = {};
  for (const p of CORRECT_POLICIES) {
    raw[p.name] = rawStepsPerSecond(p, fixed, commandLists(p, fixed, 1, v.quick ? 500 : 2000));
    log(`raw Sim steps/s, ${p.name} [fixed]: ${raw[p.name]}`);
  }
  const viaFc = fastCheckStepsPerSecond(bpfMa, fixed, v.quick ? 500 : 2000);
  log(`steps/s per core through explore() (fast-check included), bpf-ma [fixed]: ${viaFc}`);

  const zoo: Record<string, unknown> = {};
  for (const p of ZOO) {
    const uni: FirstBug[] = [];
    const pct: FirstBug[] = [];
    for (let s = 1; s <= seeds; s++) {
      uni.push(firstBug(p, s, 2000, 'uniform'));
      pct.push(firstBug(p, s, 2000, 'pct'));
    }
    // shortest known: BFS in the configuration (default ones, in order) where uniform finds it
    let shortest: { length: number; config: string; states: number; transitions: number } | null = null;
    for (const name of p.bug?.config ? [p.bug.config] : ['fixed']) {
      const ex = exhaustive(p, CONFIGS[name]!, { depth: 6, maxStates: v.quick ? 2000 : 10000 });
      if (ex.counterexample) {
        shortest = { length: ex.counterexample.commands.length, config: name, states: ex.states, transitions: ex.transitions };
        break;
      }
    }
    const u = summary(uni);
    zoo[p.name] = { ...u, shortestLength: shortest?.length ?? null, shortest, pct: summary(pct) };
    log(`${p.name}: uniform median ${u.medianSeconds} s, max ${u.maxSeconds} s, shrunk ${u.shrunkLength} (max ${u.shrunkLengthMax}), shortest ${shortest?.length ?? '?'}; pct median ${summary(pct).medianSeconds} s`);
  }
  // exhaustive mode: depth proved in 60 s, states/s beside uniform's and SPIN's (bench/exhaustive.ts)
  const exhaustiveFigures = await exhaustiveBench({ quick: !!v.quick, log });
  const zooMedianSecondsMax = Math.max(...Object.values(zoo).map((z) => (z as { medianSeconds: number }).medianSeconds));

  // workers: the default check (correct policies x default configurations), wall time
  const quietIo: Io = { out: () => {}, err: () => {}, tty: false };
  const opts = {
    policies: CORRECT_POLICIES.map((policy) => ({ policy })),
    configs: DEFAULT_PROFILE.map((n) => CONFIGS[n]!),
    seed: 1,
    runs: v.quick ? 100 : 400,
    promise: [],
    fixturesDir: mkdtempSync(join(tmpdir(), 'allocspec-bench-')),
    quiet: true,
  };
  const runsPerSecond: Record<string, number> = {};
  for (const w of [1, 2]) {
    const t0 = performance.now(); // wall time: what workers buy
    const { report } = await checkJobs(opts, quietIo, { workers: w, shard: null, strategy: 'uniform' });
    const runs = report.policies.reduce((a, r) => a + r.runs, 0);
    runsPerSecond[w] = Math.round(runs / ((performance.now() - t0) / 1000));
    log(`--workers ${w}: ${runsPerSecond[w]} runs/s`);
  }
  const results = {
    machine,
    stepsPerSecond: raw['bpf-ma'],
    /** bpf-ma [fixed] through explore() (fast-check included) */
    exploreStepsPerSecond: viaFc,
    stepsPerSecondDetail: {
      what: 'spec steps per CPU-second of the process (best of the repetitions), config fixed; rawSim = Sim.exec over pre-generated fast-check command lists (states and coverage recorded); fastCheck = through explore() (fast-check included): generation, fc.modelRun, the PCT share and the shrinking of known findings in the time',
      rawSim: raw,
      fastCheck: { 'bpf-ma': viaFc },
    },
    zoo,
    zooMedianSecondsMax,
    zooNote: `CPU seconds of one thread to the first shrunk counterexample, seeds 1..${seeds}, configurations ${DEFAULT_PROFILE.join(',')} in order (2000 runs each); pct = --strategy pct; shortestLength = BFS (exhaustive, depth <= 6) in the same configurations`,
    exhaustive: exhaustiveFigures,
    workerSpeedup: r3(runsPerSecond[2]! / runsPerSecond[1]!),
    workerRunsPerSecond: runsPerSecond,
    peakMemoryMB: Math.round(process.resourceUsage().maxRSS / 1024),
    // start-up, a zoo bug end to end, one job over workers (bench/startup.ts)
    startup: await startupBench(startupDefaults(!!v.quick, log)),
  };
  const text = JSON.stringify(results, null, 2) + '\n';
  writeFileSync(out, text);
  io.out(text);
  return 0;
}
