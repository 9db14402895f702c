// Exploration of one policy under one configuration with fast-check's
// model-based testing: fc.commands generates command lists, fc.modelRun
// runs them against a fresh Sim, and a Violation shrinks to a short list.
import fc from 'fast-check';
import type { InvariantName } from '../model/invariants.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { cmdArbitrary, cmdText, type Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { Sim, type SimOptions, faultKinds } from './sim.ts';
import { TraceRecorder } from './trace.ts';

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

export interface ExploreOptions {
  seed: number;
  runs: number;
  /** replay one fast-check run (and its shrinks) */
  path?: string;
  promise?: readonly InvariantName[];
}

export interface Counterexample {
  invariant: InvariantName;
  message: string;
  seed: number;
  path: string;
  /** the shrunk commands, up to and including the one that broke */
  commands: Cmd[];
}

export interface ExploreResult {
  policy: string;
  config: string;
  runs: number;
  steps: number;
  commands: number;
  effective: number;
  states: Set<number>;
  situations: Map<string, number>;
  counterexample: Counterexample | null;
}

export function commandsArbitrary(policy: Policy<unknown>, cfg: CheckConfig): fc.Arbitrary<Iterable<fc.Command<Sim, Sim>>> {
  const faults = faultKinds(policy, cfg);
  return fc.commands([cmdArbitrary(cfg, faults).map((c) => new SimCommand(c))], { maxCommands: cfg.maxCommands, size: 'max' });
}

/** Run cmds (no fast-check) and return the violation, if any, with the
 *  number of commands executed up to it. */
export function runCommands(
  policy: Policy<unknown>,
  cfg: CheckConfig,
  cmds: readonly Cmd[],
  opts: SimOptions & { recorder?: TraceRecorder } = {},
): { violation: Violation | null; executed: number; sim: Sim } {
  const rec = opts.recorder;
  const sim = new Sim(policy, cfg, { ...opts, tracer: rec ?? opts.tracer });
  let executed = 0;
  let ev: { did: string } | undefined;
  try {
    for (const c of cmds) {
      if (sim.over) break;
      executed++;
      ev = rec?.command(executed, cmdText(c));
      sim.did = '';
      sim.exec(c);
      if (ev) ev.did = sim.did;
    }
    sim.finish();
    return { violation: null, executed, sim };
  } catch (e) {
    if (!(e instanceof Violation)) throw e;
    if (ev && !ev.did) ev.did = sim.did;
    rec?.violation(e.invariant, e.detail);
    return { violation: e, executed, sim };
  }
}

export function explore(policy: Policy<unknown>, cfg: CheckConfig, opts: ExploreOptions): ExploreResult {
  const res: ExploreResult = {
    policy: policy.name,
    config: cfg.name,
    runs: 0,
    steps: 0,
    commands: 0,
    effective: 0,
    states: new Set(),
    situations: new Map(),
    counterexample: null,
  };
  let shrinking = false;
  const prop = fc.property(commandsArbitrary(policy, cfg), (cmds) => {
    const sim = new Sim(policy, cfg, {
      situations: shrinking ? null : res.situations,
      states: shrinking ? null : res.states,
      promise: opts.promise,
    });
    try {
      fc.modelRun(() => ({ model: sim, real: sim }), cmds);
      sim.finish();
    } catch (e) {
      shrinking = true; // from here on fast-check only shrinks
      throw e;
    }
    res.runs++;
    res.steps += sim.k.steps;
    res.commands += sim.commands + sim.skipped;
    res.effective += sim.effective;
  });
  const details = fc.check(prop, { seed: opts.seed, numRuns: opts.runs, path: opts.path });
  if (!details.failed) return res;
  const err = details.errorInstance;
  if (!(err instanceof Violation)) throw err;
  // fast-check wraps each command (CommandWrapper: .cmd, .hasRan)
  const wrapped = [...(details.counterexample![0] as Iterable<{ cmd: SimCommand; hasRan: boolean }>)];
  const shrunk = wrapped.filter((w) => w.hasRan).map((w) => w.cmd.cmd);
  // keep only what runs up to the violation
  const again = runCommands(policy, cfg, shrunk, { promise: opts.promise });
  const v = again.violation ?? err;
  const commands = again.violation
    ? minimize(policy, cfg, shrunk.slice(0, again.executed), v.invariant, opts.promise)
    : shrunk;
  const last = again.violation ? runCommands(policy, cfg, commands, { promise: opts.promise }).violation! : v;
  res.counterexample = {
    invariant: last.invariant as InvariantName,
    message: last.detail,
    seed: details.seed,
    path: details.counterexamplePath!,
    commands,
  };
  return res;
}

/** After fast-check's shrink: drop every command the violation does not
 *  need, then simplify the arguments of the rest (run to the end, one
 *  update, CPU 0, object #0, not sleepable), keeping the same invariant.
 *  fast-check shrinks a command list by prefixes and chunks; this greedy
 *  pass reaches a list from which no single command can be removed. */
export function minimize(
  policy: Policy<unknown>,
  cfg: CheckConfig,
  cmds: Cmd[],
  invariant: string,
  promise?: readonly InvariantName[],
): Cmd[] {
  /** commands up to the violation if cand still breaks `invariant` */
  const breaks = (cand: Cmd[]): Cmd[] | null => {
    const r = runCommands(policy, cfg, cand, { promise });
    return r.violation?.invariant === invariant ? cand.slice(0, r.executed) : null;
  };
  let best = cmds;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = best.length - 1; i >= 0; i--) {
      const cand = breaks([...best.slice(0, i), ...best.slice(i + 1)]);
      if (cand) {
        best = cand;
        changed = true;
        i = Math.min(i, best.length);
      }
    }
  }
  const simpler = (c: Cmd): Cmd[] => {
    const out: Cmd[] = [];
    if ('steps' in c && c.steps !== 0) out.push({ ...c, steps: 0 });
    if (c.t === 'prog' && c.count !== 1) out.push({ ...c, count: 1 });
    if (c.t === 'prog' && c.sleepable) out.push({ ...c, sleepable: false });
    if ((c.t === 'prog' || c.t === 'nmi') && c.arg !== 0) out.push({ ...c, arg: 0 });
    if ('cpu' in c && c.cpu !== 0) out.push({ ...c, cpu: 0 });
    return out;
  };
  for (let i = 0; i < best.length; i++) {
    for (let again = true; again; ) {
      again = false;
      for (const alt of simpler(best[i]!)) {
        const cand = breaks([...best.slice(0, i), alt, ...best.slice(i + 1)]);
        if (cand && cand.length === best.length) {
          best = cand;
          again = true;
          break;
        }
      }
    }
  }
  return best;
}
