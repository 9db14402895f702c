// memalloc.c: __free_rcu(), __free_rcu_tasks_trace(), do_call_rcu().
import { atomicSet, atomicXchg } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { __llistAdd, __llistDelAll, eachSafe, llistDelAll } from '../kernel/llist.ts';
import { callRcu, callRcuTasksTrace } from '../kernel/rcupdate.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from './cache.ts';
import { freeOne } from './refill.ts';

/** __free_rcu(): after both grace periods, free waiting_for_gp to slab. */
export function* __freeRcu(x: Context, c: BpfMemCache): Gen<void> {
  const llnode = yield* llistDelAll(x, c.waiting_for_gp);
  for (const pos of eachSafe(x, llnode)) yield* freeOne(x, c, pos);
  yield* atomicSet(x, c.call_rcu_in_progress, 0);
}

/** __free_rcu_tasks_trace(): chain a normal grace period unless implied. */
export function* __freeRcuTasksTrace(x: Context, c: BpfMemCache): Gen<void> {
  if (x.k.cfg.rcuTraceImpliesRcuGp) yield* c.ops.__free_rcu(x, c);
  else yield* callRcu(x, c.rcu, (y) => c.ops.__free_rcu(y, c), '__free_rcu');
}

/** do_call_rcu(): move free_by_rcu to waiting_for_gp and start the GPs. */
export const doCallRcu = kfunc('do_call_rcu', function* (x: Context, c: BpfMemCache): Gen<void> {
  if (yield* atomicXchg(x, c.call_rcu_in_progress, 1)) return;
  WARN_ON_ONCE(x, c.waiting_for_gp.first !== null, 'WARN_ON_ONCE(!llist_empty(&c->waiting_for_gp))');
  for (const llnode of eachSafe(x, yield* __llistDelAll(x, c.free_by_rcu))) yield* __llistAdd(x, llnode, c.waiting_for_gp);
  yield* callRcuTasksTrace(x, c.rcu, (y) => c.ops.__free_rcu_tasks_trace(y, c), '__free_rcu_tasks_trace');
});
