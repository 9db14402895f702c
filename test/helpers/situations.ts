// Coverage situations in unit tests: a kernel that counts a family's
// situations (harness/coverage.ts installSituations) and a drive() that
// lets them read each step, as the scheduler does after every step.
import { installSituations } from '../../harness/coverage.ts';
import type { Context } from '../../spec/kernel/context.ts';
import type { Kernel } from '../../spec/kernel/kernel.ts';
import type { Gen } from '../../spec/kernel/types.ts';
import type { Situation } from '../../spec/policies/policy.ts';

/** Count the situations of list on k from now on; returns the counts. */
export function watch(k: Kernel, list: readonly Situation[]): Map<string, number> {
  const counts = new Map<string, number>();
  k.situations = counts;
  k.onStep = null;
  installSituations(k, list);
  return counts;
}

/** Drive g to its end as x's steps, each read by the situations (the
 *  step in which it returns too, as the scheduler's). */
export function driveSeen<T>(x: Context, g: Gen<T>): { value: T; steps: string[] } {
  const steps: string[] = [];
  for (;;) {
    const r = g.next();
    x.k.steps++;
    x.nsteps++;
    x.k.onStep?.(x);
    if (r.done) return { value: r.value, steps };
    steps.push(r.value);
  }
}
