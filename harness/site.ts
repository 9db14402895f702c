// Where a violation fired in a user's policy file, for CI annotations: the
// kernel function the violation's message names, or the innermost one on
// the stack of the last step of the context it fired in (TraceRecorder's
// fns), that the user's file defines with kfunc('name', …).
// When none is the user's (a built-in's code, or a check at the end of the
// run with no user function on the stack), the annotation goes on the
// fixture instead.
import { readFileSync } from 'node:fs';
import type { Policy } from '../spec/policies/policy.ts';
import type { Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { fixtureRun } from './regress.ts';
import { TraceRecorder } from './trace.ts';

export interface Site {
  file: string;
  line: number;
}

/** The line of `file` that defines the function the violation fired in, or null. */
export function violationSite(policy: Policy<unknown>, file: string, cfg: CheckConfig, promise: readonly string[], commands: Cmd[], invariant: string): Site | null {
  let src: string[];
  try {
    src = readFileSync(file, 'utf8').split('\n');
  } catch {
    return null;
  }
  const rec = new TraceRecorder();
  try {
    fixtureRun(policy, { commands, promise: [...promise], config: cfg, expect: { verdict: 'violates', invariant, message: '' } }, rec);
  } catch {
    return null; // a policy error: the check reports it on its own
  }
  const at = rec.events.findIndex((e) => e.kind === 'violation');
  const v = rec.events[at];
  const message = v && v.kind === 'violation' ? v.message : '';
  const steps = rec.events.slice(0, at < 0 ? rec.events.length : at).filter((e) => e.kind === 'step' && e.fns.length) as Extract<(typeof rec.events)[number], { kind: 'step' }>[];
  // the function the message names (WARN_ON(...) fired in unit_alloc on cpu1 (prog0)),
  // then the stack of the named context's last step, then of the last step
  const ctx = /\((\w+)\)$/.exec(message)?.[1];
  const candidates = [
    ...[...message.matchAll(/\bin (\w+)/g)].map((m) => m[1]!),
    ...[...(steps.filter((e) => e.ctx === ctx).at(-1)?.fns ?? [])].reverse(),
    ...[...(steps.at(-1)?.fns ?? [])].reverse(),
  ];
  for (const fn of candidates) {
    const def = new RegExp(`kfunc(<[^>]*>)?\\(\\s*['"\`]${fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"\`]`);
    const line = src.findIndex((l) => def.test(l));
    if (line >= 0) return { file, line: line + 1 };
  }
  return null;
}
