// Bug zoo (RcuSafety): do_call_rcu() that queues the batch on a normal RCU
// grace period only, as if no BPF program were sleepable: call_rcu(&c->rcu,
// __free_rcu) instead of call_rcu_tasks_trace(&c->rcu,
// __free_rcu_tasks_trace). A normal grace period does not wait for RCU
// tasks trace readers, so an object freed while a sleepable program was
// inside its section goes back to slab while that program may still read
// it. No program needs to have looked the object up for RcuSafety to say so
// (model/allocator.ts: any section open at the free counts).
import { atomicXchg } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { __llistAdd, __llistDelAll, eachSafe } from '../kernel/llist.ts';
import { callRcu } from '../kernel/rcupdate.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

const doCallRcuNormalGpOnly = kfunc('do_call_rcu', function* (x: Context, c: BpfMemCache): Gen<void> {
  if (yield* atomicXchg(x, c.call_rcu_in_progress, 1)) return;
  WARN_ON_ONCE(x, c.waiting_for_gp.first !== null, 'WARN_ON_ONCE(!llist_empty(&c->waiting_for_gp))');
  for (const llnode of eachSafe(x, yield* __llistDelAll(x, c.free_by_rcu))) yield* __llistAdd(x, llnode, c.waiting_for_gp);
  // the bug: call_rcu() where memalloc.c has call_rcu_tasks_trace()
  yield* callRcu(x, c.rcu, (y) => c.ops.__free_rcu(y, c), '__free_rcu');
});

export const doCallRcuSkipsTasksTrace = definePolicy({
  ...bpfMa,
  name: 'bug/do-call-rcu-skips-tasks-trace',
  summary: 'do_call_rcu() waits for a normal RCU grace period only (call_rcu() for call_rcu_tasks_trace()): sleepable programs are not waited for',
  bug: {
    invariants: ['RcuSafety'],
    why: 'an object freed while a sleepable program is inside its RCU tasks trace section goes back to slab after a normal grace period, before that section ends',
  },
  init: withOps({ do_call_rcu: doCallRcuNormalGpOnly }),
});
