// The one shrinker, after whatever the strategy found (fast-check's own
// shrink for uniform and swarm generation, nothing for PCT and known
// findings): replay, keep the commands up to the violation as the actions
// they became (fallbacks rewritten), drop every command the violation does
// not need, then simplify the fields of the rest towards their simplest
// values (the command table says which), keeping the same invariant.
import type { InvariantName } from '../model/invariants.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { cmdText, simpler, type Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { Sim, type SimOptions } from './sim.ts';
import type { TraceRecorder } from './trace.ts';

export interface RunOutcome {
  violation: Violation | null;
  /** commands executed, up to and including the one that broke */
  executed: number;
  /** those commands as the actions they became */
  effective: Cmd[];
  sim: Sim;
}

/** Run cmds (no fast-check) and return the violation, if any. */
export function runCommands(
  policy: Policy<unknown>,
  cfg: CheckConfig,
  cmds: readonly Cmd[],
  opts: SimOptions & { recorder?: TraceRecorder } = {},
): RunOutcome {
  const rec = opts.recorder;
  let sim: Sim;
  try {
    // by default the policy's known observations are noted, not thrown
    sim = new Sim(policy, cfg, { tolerate: knownObservations(policy), ...opts, tracer: rec ?? opts.tracer });
  } catch (e) {
    // a violation at boot (prefill): the run is the boot
    if (!(e instanceof Violation)) throw e;
    rec?.violation(e.invariant, e.detail);
    return { violation: e, executed: 0, effective: [], sim: null as unknown as Sim };
  }
  let executed = 0;
  let ev: { did: string; freed?: string[] } | undefined;
  try {
    for (const c of cmds) {
      if (sim.over) break;
      executed++;
      ev = rec?.command(executed, cmdText(c));
      sim.did = '';
      sim.freed = [];
      sim.exec(c);
      if (ev) {
        ev.did = sim.did;
        if (sim.freed.length) ev.freed = sim.freed;
      }
    }
    sim.finish();
    return { violation: null, executed, effective: sim.log, sim };
  } catch (e) {
    if (!(e instanceof Violation)) throw e;
    if (ev && !ev.did) {
      ev.did = sim.did;
      if (sim.freed.length) ev.freed = sim.freed;
    }
    rec?.violation(e.invariant, e.detail);
    return { violation: e, executed, effective: sim.log, sim };
  }
}

export { knownInvariants as knownFindings, knownObservations } from './findings.ts';
import { knownInvariants, knownObservations } from './findings.ts';

/** Shrink cmds, which break `invariant`, to a 1-minimal list of commands
 *  written as the actions they became. */
export function minimize(
  policy: Policy<unknown>,
  cfg: CheckConfig,
  cmds: readonly Cmd[],
  invariant: string,
  promise?: readonly InvariantName[],
  /** known observations noted rather than thrown (never the one shrunk) */
  tolerate: ReadonlySet<string> = knownObservations(policy),
  /** and the violation is still the one shrunk: the same known finding,
   *  or still none (a new violation stays new while it shrinks) */
  same?: (v: Violation, effective: readonly Cmd[]) => boolean,
): Cmd[] {
  const keep = new Set([...tolerate].filter((i) => i !== invariant));
  /** the effective commands up to the violation if cand still breaks `invariant` */
  const breaks = (cand: readonly Cmd[]): Cmd[] | null => {
    const r = runCommands(policy, cfg, cand, { promise, tolerate: keep });
    return r.violation?.invariant === invariant && (!same || same(r.violation, r.effective)) ? r.effective : null;
  };
  let best = breaks(cmds) ?? [...cmds];
  // every accepted change makes the list shorter or a field simpler; the
  // cap only guards against a fallback rewriting a field back and forth
  let budget = 20 * (best.length + 1);
  for (let changed = true; changed && budget > 0; ) {
    changed = false;
    for (let i = best.length - 1; i >= 0; i--) {
      const cand = breaks([...best.slice(0, i), ...best.slice(i + 1)]);
      if (cand && cand.length < best.length) {
        best = cand;
        changed = true;
        i = Math.min(i, best.length);
      }
    }
    // a step budget followed by more steps of the same CPU: one command
    for (let i = 0; i + 1 < best.length && budget > 0; i++) {
      const a = best[i]!;
      const b = best[i + 1]!;
      if (b.t !== 'step' || !('steps' in a) || !('cpu' in a) || a.cpu !== b.cpu || !a.steps || b.steps === 0) continue;
      const cand = breaks([...best.slice(0, i), { ...a, steps: a.steps + b.steps } as Cmd, ...best.slice(i + 2)]);
      if (cand && cand.length < best.length) {
        best = cand;
        changed = true;
        budget--;
        i--;
      }
    }
    for (let i = 0; i < best.length; i++) {
      for (let again = true; again && budget > 0; ) {
        again = false;
        for (const alt of simpler(best[i]!)) {
          const cand = breaks([...best.slice(0, i), alt, ...best.slice(i + 1)]);
          if (cand && cand.length <= best.length && JSON.stringify(cand) !== JSON.stringify(best)) {
            if (cand.length < best.length) changed = true;
            best = cand;
            again = true;
            budget--;
            break;
          }
        }
      }
    }
  }
  return best;
}
