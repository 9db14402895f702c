// Bug zoo: teardown that frees the caches at once, without
// rcu_barrier_tasks_trace()/rcu_barrier(), even while __free_rcu_tasks_trace
// or __free_rcu callbacks are still queued: they then run on freed caches.
import { atomicRead } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { irqWorkSync } from '../kernel/irq_work.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemAlloc } from '../memalloc/cache.ts';
import { drainMemCache, freeMemAllocNoBarrier } from '../memalloc/destroy.ts';
import { bpfMa } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** bpf_mem_alloc_destroy() whose destroy_mem_alloc() always takes the
 *  fast path, as if rcu_in_progress were 0. */
const destroySkippingBarriers = kfunc('bpf_mem_alloc_destroy', function* (x: Context, ma: BpfMemAlloc): Gen<void> {
  for (const pc of [ma.cache, ma.caches]) {
    if (!pc) continue;
    let rcuInProgress = 0;
    for (const c of pc.caches) {
      yield* irqWorkSync(x, c.refill_work);
      yield* drainMemCache(x, c);
      rcuInProgress += yield* atomicRead(x, c.call_rcu_in_progress);
    }
    if (rcuInProgress) x.k.saw('teardown-with-callbacks-in-flight');
    yield* freeMemAllocNoBarrier(x, ma); // the bug: no barriers
  }
});

export const destroySkipsBarriers = definePolicy({
  ...bpfMa,
  name: 'bug/destroy-skips-barriers',
  summary: 'bpf_mem_alloc_destroy() frees the caches without rcu_barrier*() while callbacks are in flight',
  bug: { invariants: ['TeardownBarriers'], why: 'a queued __free_rcu_tasks_trace/__free_rcu runs on a freed bpf_mem_cache' },
  destroy: (x, ma) => destroySkippingBarriers(x, ma),
});
