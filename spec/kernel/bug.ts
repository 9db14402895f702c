// asm-generic/bug.h: a WARN_ON that fires is a violation of NoKernelWarn,
// named by the condition as written in the kernel source.
import { report } from './events.ts';
import type { Context } from './context.ts';
import { shared } from './types.ts';

/** the context taking a step (sched.ts `current`, the same shared cell) */
const current = shared('current', () => ({ x: null as unknown, rec: null as { wr: object[]; nwr: number } | null }));

export function WARN_ON(x: Context, cond: boolean, text: string): boolean {
  if (cond) {
    report('warn', `${text} fired in ${x.fn} on cpu${x.cpu} (${x.label})`);
  }
  return cond;
}
export const WARN_ON_ONCE = WARN_ON;

/** The code follows a pointer to something that is not what it expects
 *  (a garbage cache pointer in an object's header, a freed or foreign
 *  object): in the kernel an oops. A fact like any other: the run ends
 *  with its trace, shrunk and saved, never as an error of the policy. */
export function oops(what: string): never {
  const x = current.x as Context | null;
  return report('oops', `BUG: ${x ? `${x.fn} on cpu${x.cpu} (${x.label})` : 'the harness'} follows a bad pointer: ${what}`);
}
