// Bug zoo: free_mem_alloc() as it was before bpf_mem_free_rcu() (commit
// 04fabf00b4d3): rcu_barrier_tasks_trace(), then rcu_barrier() only when a
// tasks-trace grace period does not imply a normal one. The leading
// rcu_barrier() that waits for __free_by_rcu() is missing. With
// rcu_trace_implies_rcu_gp() (configuration rt) nothing waits for a
// __free_by_rcu() queued by check_free_by_rcu(), and it runs on the freed
// cache. Programs here free with bpf_mem_cache_free_rcu(), as
// bpf_cpumask_release() does.
import { kfunc, type Context } from '../kernel/context.ts';
import { rcuBarrier, rcuBarrierTasksTrace } from '../kernel/rcupdate.ts';
import type { Gen } from '../kernel/types.ts';
import type { MaUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const freeMemAllocWithoutFreeByRcuBarrier = kfunc('free_mem_alloc', function* (x: Context, ma: MaUp): Gen<void> {
  // the bug: no rcu_barrier() for __free_by_rcu first
  yield* rcuBarrierTasksTrace(x);
  if (!x.k.cfg.rcuTraceImpliesRcuGp) yield* rcuBarrier(x);
  yield* ma.ops.free_mem_alloc_no_barrier(x, ma);
});

const ops = { ...upstreamOps, free_mem_alloc: freeMemAllocWithoutFreeByRcuBarrier };

export const upstreamFreeMemAllocSkipsFreeByRcuBarrier = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-free-mem-alloc-skips-free-by-rcu-barrier',
  summary: "free_mem_alloc() without the rcu_barrier() for __free_by_rcu() (04fabf00b4d3's), objects freed with bpf_mem_cache_free_rcu()",
  bug: {
    config: 'rt',
    invariants: ['TeardownBarriers'],
    why: 'with rcu_trace_implies_rcu_gp() no barrier waits for a queued __free_by_rcu(), which then runs on the freed bpf_mem_cache',
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
  free: bpfMaUpstream.freeRcu!,
});
