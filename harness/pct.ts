// A PCT-style strategy (`allocspec check --strategy pct`): probabilistic
// concurrency testing after Burckhardt et al. Each CPU gets a random
// priority; every command acts on the highest-priority CPU (Sim.exec falls
// back to the next CPU when that one has nothing to do), and at d-1 random
// change points the CPU on top drops below all others. A run therefore
// keeps one CPU going and leaves the others' programs stopped wherever
// their last command left them, which is where races bite. The output is
// the same Cmd lists as uniform generation, so fixtures and replay work
// unchanged. Random draws come from seedrandom, seeded by (seed, run).
import seedrandom from 'seedrandom';
import type { InvariantName } from '../model/invariants.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { drawKind, generatedKinds, type Cmd, type GenCtx, type Rng } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { emptyResult, type Counterexample, type ExploreResult } from './strategies/strategy.ts';
import { knownFindings, knownObservations, minimize, runCommands } from './shrink.ts';
import { classifier } from './witness.ts';
import { knownKey } from './findings.ts';
import { genCtx } from './sim.ts';

export interface PctOptions {
  seed: number;
  runs: number;
  /** priority change points per run, plus one (PCT's d) */
  depth: number;
  promise?: readonly InvariantName[];
}

const nat = (r: Rng, max: number): number => Math.floor(r() * (max + 1));

/** One run's commands: PCT priorities over CPUs, d-1 change points; kinds
 *  and fields drawn from the command table at its weights. */
export function pctCommands(g: GenCtx, seed: number, run: number, depth: number): Cmd[] {
  const r = seedrandom(`pct:${seed}:${run}`);
  const n = g.cfg.cpus;
  const len = g.cfg.maxCommands;
  // random priorities: a permutation of depth..depth+n-1
  const prio = Array.from({ length: n }, (_, i) => depth + i);
  for (let i = n - 1; i > 0; i--) {
    const j = nat(r, i);
    [prio[i], prio[j]] = [prio[j]!, prio[i]!];
  }
  const changes = new Map<number, number>();
  for (let i = 1; i < depth; i++) changes.set(nat(r, len - 1), depth - i);
  const kinds = generatedKinds(g);
  const total = kinds.reduce((a, [, w]) => a + w, 0);
  const out: Cmd[] = [];
  for (let i = 0; i < len; i++) {
    let top = 0;
    for (let c = 1; c < n; c++) if (prio[c]! > prio[top]!) top = c;
    const low = changes.get(i);
    if (low !== undefined) {
      prio[top] = low;
      for (let c = 0; c < n; c++) if (prio[c]! > prio[top]!) top = c;
    }
    let w = r() * total;
    let t = kinds[0]![0];
    for (const [k, kw] of kinds) {
      if ((w -= kw) < 0) {
        t = k;
        break;
      }
    }
    out.push(drawKind(t, g, r, top));
  }
  return out;
}

/** Explore with PCT schedules; the result has the shape explore() returns
 *  (known findings are recorded and the budget goes on, as there). */
export function explorePct(
  policy: Policy<unknown>,
  cfg: CheckConfig,
  o: { seed: number; runs: number; depth?: number; promise?: readonly InvariantName[]; known?: readonly string[]; noShrink?: readonly string[] },
): ExploreResult {
  const depth = o.depth ?? 3;
  const res = emptyResult(policy.name, cfg.name, o.runs);
  const known = new Set(o.known ?? knownFindings(policy, cfg.name));
  const g = genCtx(policy, cfg);
  const tolerate = knownObservations(policy, [...known]);
  // which known finding a violation is (by its signature), or none
  const which = classifier(policy, cfg, { promise: o.promise, tolerate, known: [...known] });
  /** count a known finding's hit; the first of each, shrunk (unless one
   *  shrunk elsewhere is kept instead: o.noShrink) */
  const first = (v: Violation, cmds: Cmd[], run: number, name: string): void => {
    res.knownHits[v.invariant] = (res.knownHits[v.invariant] ?? 0) + 1;
    res.findingHits[name] = (res.findingHits[name] ?? 0) + 1;
    if (!res.known.some((c) => knownKey(c) === name) && !o.noShrink?.includes(name)) res.known.push({ ...shrunk(v, cmds, run, (w, eff) => which(w, () => eff)?.name === name), finding: name });
  };
  const shrunk = (v: Violation, cmds: Cmd[], run: number, same?: (w: Violation, eff: readonly Cmd[]) => boolean): Counterexample => {
    const commands = minimize(policy, cfg, cmds, v.invariant, o.promise, tolerate, same);
    const again = runCommands(policy, cfg, commands, { promise: o.promise }).violation ?? v;
    return { invariant: again.invariant, message: again.detail, seed: o.seed, path: String(run), commands };
  };
  for (let run = 0; run < o.runs; run++) {
    const cmds = pctCommands(g, o.seed, run, depth);
    const { violation, effective, sim } = runCommands(policy, cfg, cmds, { promise: o.promise, states: res.states, situations: res.situations, tolerate });
    for (const t of sim.tolerated.slice(0, 1)) first(t.v, t.log, run, which(t.v, () => t.log)?.name ?? t.v.invariant);
    res.runs++;
    res.steps += sim.k.steps;
    res.commands += sim.commands;
    res.effective += sim.effective;
    if (!violation) {
      res.runsToEnd++;
      continue;
    }
    const f = known.has(violation.invariant) ? which(violation, () => effective) : null;
    if (f) {
      first(violation, effective, run, f.name);
      continue;
    }
    // a new violation of a known finding's invariant stays new while it shrinks
    res.counterexample = shrunk(violation, effective, run, known.has(violation.invariant) ? (w, eff) => which(w, () => eff) === null : undefined);
    return res;
  }
  return res;
}
