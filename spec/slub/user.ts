// The cache's user: a BPF map whose programs read elements under RCU (and
// RCU tasks trace when sleepable). Slab gives no grace period of its own,
// so the map frees an element only after both, as htab does with
// call_rcu_tasks_trace() chained to call_rcu(), and waits for those
// callbacks with the barriers before kmem_cache_destroy().
// call_rcu*() is not NMI-safe; an NMI program's free queues it directly
// here, where a kernel user would go through irq_work first.
import type { Context } from '../kernel/context.ts';
import type { Holder, Kernel } from '../kernel/kernel.ts';
import type { Obj } from '../kernel/obj.ts';
import { callRcu, callRcuTasksTrace, rcuBarrier, rcuBarrierTasksTrace, RcuHead } from '../kernel/rcupdate.ts';
import type { Gen } from '../kernel/types.ts';
import { kmemCacheDestroy, kmemCacheFree, kmemCacheFreeBulk } from './free.ts';
import type { KmemCache } from './pca.ts';

/** Elements whose RCU callbacks are queued: a Holder, so Conservation
 *  counts them as in flight rather than lost. */
export class RcuPending implements Holder {
  readonly name = 'elems waiting for RCU';
  readonly elems = new Set<Obj>();
  head(): Obj | null {
    let prev: Obj | null = null;
    let first: Obj | null = null;
    for (const o of this.elems) {
      if (prev) prev.next = o;
      else first = o;
      prev = o;
    }
    if (prev) prev.next = null;
    return first;
  }
}

export function rcuPending(k: Kernel): RcuPending {
  const p = new RcuPending();
  k.register(p);
  return p;
}

export type SlabFree = (x: Context, s: KmemCache, obj: Obj) => Gen<void>;

/** The free itself once readers are gone: kmem_cache_free(), or a bulk
 *  free of one for odd ids, so both paths into the array run. */
export function* elemFreeNow(x: Context, s: KmemCache, obj: Obj, free: SlabFree = kmemCacheFree): Gen<void> {
  if (obj.id % 2) yield* kmemCacheFreeBulk(x, s, [obj]);
  else yield* free(x, s, obj);
}

/** Free an element after an RCU tasks trace and a normal grace period. */
export function* elemFreeRcu(x: Context, s: KmemCache, pending: RcuPending, obj: Obj, free?: SlabFree): Gen<void> {
  pending.elems.add(obj);
  const rcu = new RcuHead(s, `${obj.name}.rcu`);
  const done = function* (y: Context): Gen<void> {
    pending.elems.delete(obj);
    yield* elemFreeNow(y, s, obj, free);
  };
  yield* callRcuTasksTrace(x, rcu, function* (y) {
    if (y.k.cfg.rcuTraceImpliesRcuGp) yield* done(y);
    else yield* callRcu(y, rcu, done, 'elem_free_rcu');
  }, 'elem_free_rcu_tasks_trace');
}

/** Map teardown: wait for the element callbacks, then destroy the cache. */
export function* mapDestroy(x: Context, s: KmemCache, destroy: (x: Context, s: KmemCache) => Gen<void> = kmemCacheDestroy): Gen<void> {
  yield* rcuBarrierTasksTrace(x);
  yield* rcuBarrier(x);
  yield* destroy(x, s);
}
