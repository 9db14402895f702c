// The last touches of a violation's objects, from a recorded replay of the
// run (a known finding's signature may read them: Finding.last), and a
// classifier that asks for them only when a signature needs them.
import type { InvariantName } from '../model/invariants.ts';
import type { Place, Witness } from '../spec/kernel/facts.ts';
import type { Violation } from '../spec/kernel/types.ts';
import type { Finding } from '../spec/policies/finding.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { classify, findingsOf } from './findings.ts';
import { runCommands } from './shrink.ts';
import { TraceRecorder } from './trace.ts';

/** Per object the witness is about: the last step of a recorded replay of
 *  cmds that changed it: acted on it (a program's lookup only reads it),
 *  wrote it (a traced run keeps each step's footprint) or named it as what
 *  it touched (a page pointer). Subjects no step changed are left out. */
export function lastTouches(policy: Policy<unknown>, cfg: CheckConfig, cmds: readonly Cmd[], v: Violation, opts: { promise?: readonly InvariantName[]; tolerate?: ReadonlySet<string> } = {}): Witness['last'] {
  const rec = new TraceRecorder();
  const r = runCommands(policy, cfg, cmds, { ...opts, recorder: rec });
  if (r.violation?.invariant !== v.invariant) return [];
  const out: (Place & { subject: string })[] = [];
  for (const s of r.violation.witness.subjects) {
    for (let i = rec.events.length - 1; i >= 0; i--) {
      const e = rec.events[i]!;
      if (e.kind !== 'step') continue;
      // a step of kernel code that changed it: acted on it (not a read),
      // wrote its link, or named it as the structure it wrote (a page
      // pointer); a program's own steps (a lookup holding it) only read it
      if (e.fns.length === 0) continue;
      const acted = e.obj === s && e.act !== 'looked up' && e.act !== 'read';
      if (acted || e.wrote?.includes(s) || (e.obj === undefined && e.touched === s)) {
        out.push({ subject: s, ctx: e.ctx, level: e.level, cpu: e.cpu, fns: e.fns, touched: e.touched });
        break;
      }
    }
  }
  return out;
}

/** A classifier for one run of policy under cfg: the known finding a
 *  violation ending `cmds` is, or null (a new violation). */
export function classifier(
  policy: Policy<unknown>,
  cfg: CheckConfig,
  opts: { promise?: readonly InvariantName[]; tolerate?: ReadonlySet<string>; known?: readonly string[] } = {},
): (v: Violation, cmds: () => readonly Cmd[]) => Finding | null {
  const list = findingsOf(policy, cfg.name).filter((k) => !opts.known || opts.known.includes(k.invariant));
  return (v, cmds) => classify(v, list, () => lastTouches(policy, cfg, cmds(), v, opts));
}
