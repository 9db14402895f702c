// The engine's own coverage situations, as predicates over steps (see
// Situation in spec/policies/policy.ts), for the families whose code
// reaches them to list: a kworker running another CPU's work item, and
// llist_del_first()'s cmpxchg loop racing (spec/kernel/llist_cmpxchg.ts).
import type { StepView } from './events.ts';
import type { Kernel } from './kernel.ts';
import type { Context } from './context.ts';
import { lastCmpxchg } from './llist_cmpxchg.ts';
import type { Situation } from '../policies/policy.ts';

/** The `fns` of a situation asked at steps in no kernel function (a
 *  program's own code between its calls): their innermost fn is ''. */
export const NO_KERNEL_FN = '';

/** The context that took the step (on its CPU's stack). */
export function contextOf(x: StepView, k: Kernel): Context | undefined {
  const s = k.cpus[x.cpu]!.stack;
  for (let i = s.length - 1; i >= 0; i--) if (s[i]!.id === x.id) return s[i];
  return undefined;
}

/** `kworker-on-other-cpu`: a kworker's first step, of a work item queued
 *  on another CPU (that CPU is offline, or the work is unbound). */
export const KWORKER_ON_OTHER_CPU: Situation = {
  name: 'kworker-on-other-cpu',
  text: 'a kworker runs a work item queued on another CPU',
  first: true,
  optional: true,
  when: (x, k) => {
    const w = contextOf(x, k)?.work;
    return w !== undefined && w !== null && w.cpu !== x.cpu;
  },
};

/** llist_del_first()'s cmpxchg step, in one of fns: what it found. */
function delFirst(name: string, text: string, fns: readonly string[], holds: (c: NonNullable<ReturnType<typeof lastCmpxchg>>) => boolean, optional = true): Situation {
  return {
    name,
    text,
    fns,
    optional,
    when: (x, k) => {
      const c = lastCmpxchg(x, k);
      return c !== null && holds(c);
    },
  };
}

/** The situations of llist_del_first()'s cmpxchg loop, for a family whose
 *  functions fns call it on the lists named `lists`: another CPU wrote the
 *  list between the load and the cmpxchg (in all, and per list), the
 *  cmpxchg failed and retries, a success installed a stale next (ABA).
 *  `expected`: the names a run of the family must reach (the rest are
 *  optional). */
export function llistDelFirstSituations(fns: readonly string[], lists: readonly string[], expected: readonly string[] = []): Situation[] {
  const opt = (n: string): boolean => !expected.includes(n);
  return [
    delFirst('llist_del_first-raced-other-cpu', "another CPU wrote a _ttrace list between llist_del_first()'s load of head->first and its cmpxchg", fns, (c) => c.raced, opt('llist_del_first-raced-other-cpu')),
    ...lists.map((l) =>
      delFirst(`llist_del_first-raced-other-cpu:${l}`, `another CPU wrote ${l} between llist_del_first()'s load of head->first and its cmpxchg`, fns, (c) => c.raced && c.head!.field === l, opt(`llist_del_first-raced-other-cpu:${l}`)),
    ),
    delFirst('llist_del_first-aba', "llist_del_first()'s cmpxchg succeeded on an entry whose successor changed meanwhile (ABA)", fns, (c) => c.aba, opt('llist_del_first-aba')),
    delFirst('llist_del_first-retry', "llist_del_first()'s cmpxchg failed and it retried on the new first", fns, (c) => !c.ok, opt('llist_del_first-retry')),
  ];
}
