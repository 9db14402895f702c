// Bug zoo: teardown that frees the caches at once, without
// rcu_barrier_tasks_trace()/rcu_barrier(), even while __free_rcu_tasks_trace
// or __free_rcu callbacks are still queued: they then run on freed caches.
import { atomicRead, Cell } from '../kernel/atomic.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { TEARDOWN_WITH_CALLBACKS_IN_FLIGHT } from '../memalloc/situations.ts';
import type { Situation } from './policy.ts';
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
    yield* freeMemAllocNoBarrier(x, ma); // the bug: no barriers
  }
});

// per context: the call_rcu_in_progress counts its atomic_read()s found
let of: Kernel | null = null;
const inFlight = new Map<number, number>();

/** teardown-with-callbacks-in-flight, here: free_mem_alloc_no_barrier()
 *  is entered after the reads found callbacks in flight. */
const TEARDOWN_SKIPPING_BARRIERS: Situation[] = [
  {
    ...TEARDOWN_WITH_CALLBACKS_IN_FLIGHT,
    fns: ['bpf_mem_alloc_destroy'],
    when: (x, k) => {
      if (of !== k) {
        of = k;
        inFlight.clear();
      }
      if (x.op === 'atomic_read' && x.target instanceof Cell && x.target.field === 'call_rcu_in_progress') inFlight.set(x.id, (inFlight.get(x.id) ?? 0) + x.target.v);
      return false;
    },
  },
  {
    ...TEARDOWN_WITH_CALLBACKS_IN_FLIGHT,
    fns: undefined,
    entering: ['free_mem_alloc_no_barrier'],
    when: (x) => {
      const n = inFlight.get(x.id) ?? 0;
      inFlight.delete(x.id);
      return x.fns[x.fns.lastIndexOf('free_mem_alloc_no_barrier') - 1] === 'bpf_mem_alloc_destroy' && n > 0;
    },
  },
];

export const destroySkipsBarriers = definePolicy({
  ...bpfMa,
  situations: [...bpfMa.situations!.filter((s) => s !== TEARDOWN_WITH_CALLBACKS_IN_FLIGHT), ...TEARDOWN_SKIPPING_BARRIERS],
  name: 'bug/destroy-skips-barriers',
  summary: 'bpf_mem_alloc_destroy() frees the caches without rcu_barrier*() while callbacks are in flight',
  bug: { invariants: ['TeardownBarriers'], why: 'a queued __free_rcu_tasks_trace/__free_rcu runs on a freed bpf_mem_cache' },
  destroy: (x, ma) => destroySkippingBarriers(x, ma),
});
