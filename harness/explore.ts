// Exploration of one policy under one configuration with fast-check's
// model-based testing: fc.commands generates command lists (by default
// swarm testing: each run first draws which command kinds are on, their
// weights and a CPU to focus on), fc.modelRun runs them against a fresh
// Sim. A violation that is not a known finding stops the job and is shrunk
// (fast-check's shrink, then harness/shrink.ts). A known finding of the
// policy's source is recorded (its first run shrunk and kept) and the
// exploration goes on through the whole budget, so every other invariant
// stays checked.
import fc from 'fast-check';
import type { InvariantName } from '../model/invariants.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { cmdArbitrary, cmdText, swarmArbitrary, swarmCmdArbitrary, type Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { knownFindings, knownObservations, minimize, runCommands } from './shrink.ts';
import { classifier } from './witness.ts';
import { knownKey } from './findings.ts';

export { knownKey };
import { explorePct } from './pct.ts';
import { emptyResult, type Counterexample, type ExploreResult } from './strategies/strategy.ts';

export { emptyResult, type Counterexample, type ExploreResult };
import { Sim, genCtx } from './sim.ts';

export { runCommands, minimize };

class SimCommand implements fc.Command<Sim, Sim> {
  constructor(readonly cmd: Cmd) {}
  check(m: Readonly<Sim>): boolean {
    // every command resolves to something enabled (Sim.exec) until the
    // allocator is torn down and nothing is left to run; those left over
    // were generated for nothing and count against the effective ratio
    if (m.over) (m as Sim).skipped++;
    return !m.over;
  }
  run(_m: Sim, sim: Sim): void {
    sim.exec(this.cmd);
  }
  toString(): string {
    return cmdText(this.cmd);
  }
}

export type Generation = 'swarm' | 'uniform';

export interface ExploreOptions {
  seed: number;
  runs: number;
  /** replay one fast-check run (and its shrinks) */
  path?: string;
  promise?: readonly InvariantName[];
  /** violations of these invariants are known findings: recorded, and the
   *  exploration goes on (default: the policy's declared findings) */
  known?: readonly string[];
  /** command generation (default swarm) */
  generation?: Generation;
  /** share of the budget given to PCT schedules after the fast-check runs
   *  (default 0.2; 0: none). PCT keeps one CPU going and the others stopped
   *  where their last command left them, which finds orderings the
   *  generated mixes rarely do. */
  pctShare?: number;
  /** known findings an earlier chunk of the same job already hit and
   *  shrank (harness/job.ts): their hits are counted, their first hit
   *  here is not shrunk again (the earlier chunk's is the one kept) */
  noShrink?: readonly string[];
}

export function commandsArbitrary(policy: Policy<unknown>, cfg: CheckConfig, generation: Generation = 'swarm'): fc.Arbitrary<Iterable<fc.Command<Sim, Sim>>> {
  const g = genCtx(policy, cfg);
  const opts = { maxCommands: cfg.maxCommands, size: 'max' as const };
  if (generation === 'uniform') return fc.commands([cmdArbitrary(g).map((c) => new SimCommand(c))], opts);
  return swarmArbitrary(g).chain((sw) => fc.commands([swarmCmdArbitrary(g, sw).map((c) => new SimCommand(c))], opts));
}

export function explore(policy: Policy<unknown>, cfg: CheckConfig, opts: ExploreOptions): ExploreResult {
  const share = opts.path !== undefined ? 0 : (opts.pctShare ?? 0.2);
  const pctRuns = opts.runs >= 10 ? Math.floor(opts.runs * share) : 0;
  const res = exploreFc(policy, cfg, { ...opts, runs: opts.runs - pctRuns });
  res.budget = opts.runs;
  if (res.counterexample || pctRuns === 0) return res;
  // the rest of the budget: PCT schedules, seeded by the same seed
  // (a known finding the fast-check part shrank is kept over the PCT part's)
  const noShrink = [...(opts.noShrink ?? []), ...res.known.map(knownKey)];
  const p = explorePct(policy, cfg, { seed: opts.seed, runs: pctRuns, depth: 3 + (opts.seed % 3), promise: opts.promise, known: opts.known, noShrink });
  res.runs += p.runs;
  res.runsToEnd += p.runsToEnd;
  res.steps += p.steps;
  res.commands += p.commands;
  res.effective += p.effective;
  for (const s of p.states) res.states.add(s);
  for (const [k, n] of p.situations) res.situations.set(k, (res.situations.get(k) ?? 0) + n);
  for (const [inv, n] of Object.entries(p.knownHits)) res.knownHits[inv] = (res.knownHits[inv] ?? 0) + n;
  for (const [f, n] of Object.entries(p.findingHits)) res.findingHits[f] = (res.findingHits[f] ?? 0) + n;
  for (const k of p.known) if (!res.known.some((c) => knownKey(c) === knownKey(k))) res.known.push(k);
  res.counterexample = p.counterexample;
  return res;
}

/** The fast-check part of explore(): swarm (or uniform) generation. */
function exploreFc(policy: Policy<unknown>, cfg: CheckConfig, opts: ExploreOptions): ExploreResult {
  const res = emptyResult(policy.name, cfg.name, opts.runs);
  const known = new Set(opts.known ?? knownFindings(policy, cfg.name));
  const tolerate = knownObservations(policy, [...known]);
  // which known finding a violation is (by its signature), or none
  const which = classifier(policy, cfg, { promise: opts.promise, tolerate, known: [...known] });
  const firstKnown = new Map<string, { v: Violation; log: Cmd[]; run: number; finding: string }>();
  let shrinking = false;
  const prop = fc.property(commandsArbitrary(policy, cfg, opts.generation), (cmds) => {
    if (shrinking) {
      // a shrink candidate that only reaches a known finding is no smaller
      // counterexample of the violation being shrunk
      res.shrinkRuns++;
      const sim = new Sim(policy, cfg, { promise: opts.promise, tolerate });
      try {
        fc.modelRun(() => ({ model: sim, real: sim }), cmds);
        sim.finish();
      } catch (e) {
        if (e instanceof Violation && known.has(e.invariant) && which(e, () => sim.log)) return;
        throw e;
      }
      return;
    }
    const sim = new Sim(policy, cfg, { situations: res.situations, states: res.states, promise: opts.promise, tolerate });
    const hit = (v: Violation, log: Cmd[], run: number, finding: string): void => {
      res.knownHits[v.invariant] = (res.knownHits[v.invariant] ?? 0) + 1;
      res.findingHits[finding] = (res.findingHits[finding] ?? 0) + 1;
      if (!firstKnown.has(finding)) firstKnown.set(finding, { v, log, run, finding });
    };
    const count = (): void => {
      // observations the run noted: the model let only matching ones pass
      for (const { v, log } of sim.tolerated.slice(0, 1)) hit(v, log, res.runs, which(v, () => log)?.name ?? v.invariant);
      res.runs++;
      res.steps += sim.k.steps;
      res.commands += sim.commands + sim.skipped;
      res.effective += sim.effective;
    };
    try {
      fc.modelRun(() => ({ model: sim, real: sim }), cmds);
      sim.finish();
    } catch (e) {
      const f = e instanceof Violation && known.has(e.invariant) ? which(e, () => sim.log) : null;
      if (f) {
        // a known finding: note it and go on with the budget
        count();
        hit(e as Violation, [...sim.log], res.runs - 1, f.name);
        return;
      }
      count();
      shrinking = true; // from here on fast-check only shrinks
      throw e;
    }
    count();
    res.runsToEnd++;
  });
  const details = fc.check(prop, { seed: opts.seed, numRuns: opts.runs, path: opts.path });
  for (const [name, { v, log, run }] of firstKnown) {
    if (opts.noShrink?.includes(name)) continue;
    const same = (w: Violation, eff: readonly Cmd[]): boolean => which(w, () => eff)?.name === name;
    const commands = minimize(policy, cfg, log, v.invariant, opts.promise, tolerate, same);
    const last = runCommands(policy, cfg, commands, { promise: opts.promise }).violation ?? v;
    res.known.push({ invariant: last.invariant, message: last.detail, seed: opts.seed, path: String(run), commands, finding: name });
  }
  if (!details.failed) return res;
  const err = details.errorInstance;
  if (!(err instanceof Violation)) throw err;
  // fast-check wraps each command (CommandWrapper: .cmd, .hasRan)
  const wrapped = [...(details.counterexample![details.counterexample!.length - 1] as Iterable<{ cmd: SimCommand; hasRan: boolean }>)];
  const shrunk = wrapped.filter((w) => w.hasRan).map((w) => w.cmd.cmd);
  const again = runCommands(policy, cfg, shrunk, { promise: opts.promise, tolerate });
  const v = again.violation ?? err;
  // a new violation of a known finding's invariant stays new while it shrinks
  const stillNew = known.has(v.invariant) ? (w: Violation, eff: readonly Cmd[]): boolean => which(w, () => eff) === null : undefined;
  const commands = again.violation ? minimize(policy, cfg, again.effective, v.invariant, opts.promise, tolerate, stillNew) : shrunk;
  const last = again.violation ? (runCommands(policy, cfg, commands, { promise: opts.promise, tolerate }).violation ?? v) : v;
  res.counterexample = {
    invariant: last.invariant,
    message: last.detail,
    seed: details.seed,
    path: details.counterexamplePath!,
    commands,
  };
  return res;
}
