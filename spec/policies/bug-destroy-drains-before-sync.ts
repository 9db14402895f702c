// Bug zoo (a closed window: teardown is steppable): bpf_mem_alloc_destroy()
// that drains a cache before irq_work_sync(). A refill still running on the
// cache's CPU puts objects back on free_llist after drain_mem_cache() has
// emptied it; the caches are then freed with them on it.
import { atomicRead } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { irqWorkSync } from '../kernel/irq_work.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemAlloc, PercpuCaches } from '../memalloc/cache.ts';
import { opsOfCaches } from '../memalloc/destroy.ts';
import { bpfMa } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

function* drainThenSync(x: Context, pc: PercpuCaches): Gen<number> {
  let rcuInProgress = 0;
  for (const c of pc.caches) {
    yield* c.ops.drain_mem_cache(x, c); // the bug: before irq_work_sync()
    yield* irqWorkSync(x, c.refill_work);
    rcuInProgress += yield* atomicRead(x, c.call_rcu_in_progress);
  }
  return rcuInProgress;
}

const destroyDrainingFirst = kfunc('bpf_mem_alloc_destroy', function* (x: Context, ma: BpfMemAlloc): Gen<void> {
  const ops = opsOfCaches(ma);
  if (ma.cache) yield* ops.destroy_mem_alloc(x, ma, yield* drainThenSync(x, ma.cache));
  if (ma.caches) yield* ops.destroy_mem_alloc(x, ma, yield* drainThenSync(x, ma.caches));
});

export const destroyDrainsBeforeSync = definePolicy({
  ...bpfMa,
  name: 'bug/destroy-drains-before-sync',
  summary: 'bpf_mem_alloc_destroy() calls drain_mem_cache() before irq_work_sync()',
  bug: {
    invariants: ['NoLeakAtTeardown', 'Conservation', 'TeardownBarriers'],
    why: 'a refill running on another CPU refills free_llist after the drain; the caches are freed with objects on it',
  },
  destroy: (x, ma) => destroyDrainingFirst(x, ma),
});
