// Bug zoo (FreedObjectsReturnToSlab): __free_rcu_tasks_trace() that frees
// only when rcu_trace_implies_rcu_gp(), and otherwise forgets to chain the
// normal grace period: waiting_for_gp is never freed and
// call_rcu_in_progress stays 1, so later batches pile up behind it.
import type { Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

function* freeRcuTasksTraceWithoutChain(x: Context, c: BpfMemCache): Gen<void> {
  if (x.k.cfg.rcuTraceImpliesRcuGp) yield* c.ops.__free_rcu(x, c);
  // the bug: no call_rcu(&c->rcu, __free_rcu) otherwise
}

export const freeRcuTasksTraceDropsChain = definePolicy({
  ...bpfMa,
  name: 'bug/free-rcu-tasks-trace-drops-chain',
  summary: '__free_rcu_tasks_trace() does not chain call_rcu() when the tasks-trace GP does not imply an RCU GP',
  bug: { invariants: ['FreedObjectsReturnToSlab'], why: 'objects on waiting_for_gp are never freed once every grace period has passed' },
  init: withOps({ __free_rcu_tasks_trace: freeRcuTasksTraceWithoutChain }),
});
