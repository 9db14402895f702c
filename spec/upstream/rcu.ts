// memalloc.c today: __free_rcu(), __free_rcu_tasks_trace(),
// do_call_rcu_ttrace(), __free_by_rcu(), and call_rcu_hurry().
//
// Against seed 004 (spec/memalloc/rcu.ts): do_call_rcu() became
// do_call_rcu_ttrace() on the _ttrace lists, with two `draining` exits (a
// callback or irq_work that comes after bpf_mem_alloc_destroy() drained the
// cache frees at once instead of queueing on it); __free_by_rcu() is new:
// after a normal grace period it splices bpf_mem_free_rcu()'d objects onto
// the target's free_by_rcu_ttrace and hands them to the tasks-trace chain.
import { atomicSet, atomicXchg, load } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { eachSafe, llistEmpty } from '../kernel/llist.ts';
import { llistAdd, llistAddBatch, llistDelAll } from '../kernel/llist_cmpxchg.ts';
import { callRcu, callRcuTasksTrace, type RcuHead } from '../kernel/rcupdate.ts';
import type { Gen } from '../kernel/types.ts';
import { loadTgt, type BpfMemCacheUp } from './cache.ts';

/** call_rcu_hurry(): call_rcu() that CONFIG_RCU_LAZY may not batch. The
 *  model has no lazy RCU, so it is call_rcu() under its own name. */
export function* callRcuHurry(x: Context, head: RcuHead, fn: (x: Context) => Gen<void>, name: string): Gen<void> {
  yield* callRcu(x, head, fn, name);
}

/** __free_rcu() (container_of rcu_ttrace): after both grace periods. */
export const __free_rcu = kfunc('__free_rcu', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  yield* c.ops.free_all(x, c, yield* llistDelAll(x, c.waiting_for_gp_ttrace));
  yield* atomicSet(x, c.call_rcu_ttrace_in_progress, 0);
});

/** __free_rcu_tasks_trace(): chain a normal grace period unless implied. */
export const __free_rcu_tasks_trace = kfunc('__free_rcu_tasks_trace', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  if (x.k.cfg.rcuTraceImpliesRcuGp) yield* c.ops.__free_rcu(x, c);
  else yield* callRcu(x, c.rcu_ttrace, (y) => c.ops.__free_rcu(y, c), '__free_rcu');
});

/** do_call_rcu_ttrace(): c is a target cache, possibly another CPU's. */
export const do_call_rcu_ttrace = kfunc('do_call_rcu_ttrace', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  if (yield* atomicXchg(x, c.call_rcu_ttrace_in_progress, 1)) {
    if (yield* load(x, c.draining)) {
      const llnode = yield* llistDelAll(x, c.free_by_rcu_ttrace);
      yield* c.ops.free_all(x, c, llnode);
    }
    return;
  }

  WARN_ON_ONCE(x, !(yield* llistEmpty(x, c.waiting_for_gp_ttrace)), 'WARN_ON_ONCE(!llist_empty(&c->waiting_for_gp_ttrace))');
  for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_by_rcu_ttrace))) yield* llistAdd(x, llnode, c.waiting_for_gp_ttrace);

  if (yield* load(x, c.draining)) {
    yield* c.ops.__free_rcu(x, c);
    return;
  }

  // call_rcu_tasks_trace() waits for sleepable programs; __free_rcu_tasks_trace()
  // then waits for normal ones unless rcu_trace_implies_rcu_gp()
  yield* callRcuTasksTrace(x, c.rcu_ttrace, (y) => c.ops.__free_rcu_tasks_trace(y, c), '__free_rcu_tasks_trace');
});

/** __free_by_rcu() (container_of rcu): bpf_mem_free_rcu()'d objects went
 *  through a normal grace period; send them to the tasks-trace chain of
 *  c->tgt. */
export const __free_by_rcu = kfunc('__free_by_rcu', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  const tgt = yield* loadTgt(x, c);
  WARN_ON_ONCE(x, tgt.unit_size !== c.unit_size, 'WARN_ON_ONCE(tgt->unit_size != c->unit_size)');
  WARN_ON_ONCE(x, tgt.percpu_size !== c.percpu_size, 'WARN_ON_ONCE(tgt->percpu_size != c->percpu_size)');

  const llnode = yield* llistDelAll(x, c.waiting_for_gp);
  if (llnode) {
    x.k.touch(x, c, 'waiting_for_gp_tail');
    yield* llistAddBatch(x, llnode, c.waiting_for_gp_tail, tgt.free_by_rcu_ttrace);
    // one normal grace period is behind them; the tasks-trace one is next
    yield* c.ops.do_call_rcu_ttrace(x, tgt);
  }
  yield* atomicSet(x, c.call_rcu_in_progress, 0);
});
