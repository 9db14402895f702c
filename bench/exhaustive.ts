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
// Wall-clock seconds except where it says CPU; the load average at the
// start is recorded (the figures move with it).
import fc from 'fast-check';
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
    what: `bpf-ma [fixed] proved depth by depth for ${seconds} s (alphabet of ${par.alphabet} letters, exact state keys: sound), on ${workers} worker threads and in one thread; uniform = explore()'s command lists run without fast-check, distinct states per CPU-second; spin = the issue's figure; zoo = each variant's shortest counterexample in its configuration (depth <= ${o.quick ? 4 : 6})`,
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
  const { values: v } = parseArgs({ options: { quick: { type: 'boolean' }, seconds: { type: 'string' }, out: { type: 'string' } }, strict: true });
  const r = await exhaustiveBench({ quick: !!v.quick, ...(v.seconds ? { seconds: Number(v.seconds) } : {}) });
  const text = JSON.stringify(r, null, 2) + '\n';
  writeFileSync((v.out as string | undefined) ?? join(ROOT, 'bench', 'exhaustive-results.json'), text);
  process.stdout.write(text);
}
