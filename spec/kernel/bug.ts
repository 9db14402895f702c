// asm-generic/bug.h: a WARN_ON that fires is a violation of NoKernelWarn,
// named by the condition as written in the kernel source.
import { report } from './events.ts';
import type { Context } from './context.ts';

export function WARN_ON(x: Context, cond: boolean, text: string): boolean {
  if (cond) {
    report('warn', `${text} fired in ${x.fn} on cpu${x.cpu} (${x.label})`);
  }
  return cond;
}
export const WARN_ON_ONCE = WARN_ON;
