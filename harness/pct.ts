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
import type { Cmd, Op } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { runCommands, type ExploreResult } from './explore.ts';
import { Sim, faultKinds } from './sim.ts';

export interface PctOptions {
  seed: number;
  runs: number;
  /** priority change points per run, plus one (PCT's d) */
  depth: number;
  promise?: readonly InvariantName[];
}

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const nat = (r: Rng, max: number): number => Math.floor(r() * (max + 1));

/** Kinds and weights as in harness/commands.ts, so the strategies differ
 *  only in how they pick CPUs. */
function kindsOf(cfg: CheckConfig, faults: readonly string[]): [Cmd['t'], number][] {
  const k: [Cmd['t'], number][] = [['prog', 12], ['step', 6], ['irq', 10], ['softirq', 6], ['kworker', 2], ['gp', 8], ['destroy', 1]];
  if (cfg.nmi) k.push(['nmi', 6]);
  if (cfg.faults && faults.length) k.push(['fault', 2]);
  return k;
}

/** One run's commands: PCT priorities over CPUs, d-1 change points. */
export function pctCommands(cfg: CheckConfig, faults: Sim['faultKinds'], seed: number, run: number, depth: number): Cmd[] {
  const r = seedrandom(`pct:${seed}:${run}`);
  const n = cfg.cpus;
  const len = cfg.maxCommands;
  // random priorities: a permutation of depth..depth+n-1
  const prio = Array.from({ length: n }, (_, i) => depth + i);
  for (let i = n - 1; i > 0; i--) {
    const j = nat(r, i);
    [prio[i], prio[j]] = [prio[j]!, prio[i]!];
  }
  const changes = new Map<number, number>();
  for (let i = 1; i < depth; i++) changes.set(nat(r, len - 1), depth - i);
  const kinds = kindsOf(cfg, faults);
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
    let t: Cmd['t'] = kinds[0]![0];
    for (const [k, kw] of kinds) {
      if ((w -= kw) < 0) {
        t = k;
        break;
      }
    }
    const cpu = top;
    const steps = nat(r, 6);
    switch (t) {
      case 'prog':
        out.push({ t, cpu, op: pick<Op>(r, ['alloc', 'free', 'lookup']), arg: nat(r, 7), count: 1 + nat(r, 3), sleepable: r() < 0.5, steps });
        break;
      case 'nmi':
        out.push({ t, cpu, op: pick<Op>(r, ['alloc', 'free']), arg: nat(r, 7) });
        break;
      case 'gp':
        out.push({ t, flavour: pick(r, ['rcu', 'rcu_tasks_trace'] as const) });
        break;
      case 'fault':
        out.push({ t, kind: pick(r, faults) });
        break;
      default:
        out.push({ t, cpu, steps });
    }
  }
  return out;
}

/** Greedy shrink: drop commands, then simplify arguments, while the same
 *  invariant still breaks. */
export function shrink(policy: Policy<unknown>, cfg: CheckConfig, cmds: Cmd[], invariant: string, promise?: readonly InvariantName[]): Cmd[] {
  const fails = (xs: Cmd[]): number => {
    const r = runCommands(policy, cfg, xs, { promise });
    return r.violation && r.violation.invariant === invariant ? r.executed : -1;
  };
  let best = cmds;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = best.length - 1; i >= 0; i--) {
      const t = [...best.slice(0, i), ...best.slice(i + 1)];
      const e = fails(t);
      if (e >= 0) {
        best = t.slice(0, e);
        changed = true;
        i = Math.min(i, best.length);
      }
    }
    for (let i = 0; i < best.length; i++) {
      const c = best[i]!;
      const simpler: Cmd[] = [];
      if ('steps' in c && c.steps !== 0) simpler.push({ ...c, steps: 0 });
      if (c.t === 'prog' && c.count > 1) simpler.push({ ...c, count: 1 });
      if (c.t === 'prog' && c.sleepable) simpler.push({ ...c, sleepable: false });
      if ((c.t === 'prog' || c.t === 'nmi') && c.arg !== 0) simpler.push({ ...c, arg: 0 });
      for (const s of simpler) {
        const t = [...best.slice(0, i), s, ...best.slice(i + 1)];
        const e = fails(t);
        if (e >= 0) {
          best = t.slice(0, e);
          changed = true;
          break;
        }
      }
    }
  }
  return best;
}

/** Explore with PCT schedules; the result has the shape explore() returns. */
export function explorePct(policy: Policy<unknown>, cfg: CheckConfig, o: { seed: number; runs: number; depth?: number; promise?: readonly InvariantName[] }): ExploreResult {
  const depth = o.depth ?? 3;
  const res: ExploreResult = { policy: policy.name, config: cfg.name, runs: 0, steps: 0, commands: 0, effective: 0, states: new Set(), situations: new Map(), counterexample: null };
  const faults = faultKinds(policy, cfg);
  for (let run = 0; run < o.runs; run++) {
    const cmds = pctCommands(cfg, faults, o.seed, run, depth);
    const { violation, executed, sim } = runCommands(policy, cfg, cmds, { promise: o.promise, states: res.states, situations: res.situations });
    if (violation) {
      const shrunk = shrink(policy, cfg, cmds.slice(0, executed), violation.invariant, o.promise);
      const again = runCommands(policy, cfg, shrunk, { promise: o.promise });
      const v: Violation = again.violation ?? violation;
      res.counterexample = { invariant: v.invariant as InvariantName, message: v.detail, seed: o.seed, path: `pct:${run}:d${depth}`, commands: shrunk };
      return res;
    }
    res.runs++;
    res.steps += sim.k.steps;
    res.commands += sim.commands;
    res.effective += sim.effective;
  }
  return res;
}
