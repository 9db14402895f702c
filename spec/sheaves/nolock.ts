// mm/slub.c, allocation and free from any context: kmalloc_nolock(),
// kfree_nolock(), defer_free() onto a per-CPU llist and irq_work,
// free_deferred_objects(), defer_free_barrier(). Every lock on these paths
// is a trylock (allow_spin = false, spec/kernel/nospin.ts): the per-CPU
// sheaves lock, the barn lock, n->list_lock; a kfree_nolock() that the
// sheaves cannot take is deferred rather than sent to __slab_free().
//
// Elided: __GFP_ACCOUNT / __GFP_ZERO / __GFP_NO_OBJ_EXT (no caller here
// passes them), the cmpxchg16b check (assumed present), KASAN, kmsan,
// memcg and alloc tagging hooks.
import { kfunc, type Context } from '../kernel/context.ts';
import { initIrqWork, irqWorkQueue, irqWorkSync, IrqWork } from '../kernel/irq_work.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { eachSafe, llistAdd, llistDelAll, llistEmpty, LlistHead } from '../kernel/llist.ts';
import { noSpinEnter, noSpinExit } from '../kernel/nospin.ts';
import { numaMemId } from '../kernel/numa.ts';
import type { Obj } from '../kernel/obj.ts';
import { kmallocSizeRoundup } from '../kernel/slab.ts';
import { shared, type Gen, type Owner } from '../kernel/types.ts';
import { __slabAllocNode, allocFromPcs } from './alloc.ts';
import { __GFP_NOMEMALLOC, __GFP_NOWARN, type Gfp } from './gfp.ts';
import type { KmemCache } from './pcs.ts';
import { __slabFree, virtToSlab } from './slab.ts';

/** KMALLOC_MAX_CACHE_SIZE with 4K pages */
export const KMALLOC_MAX_CACHE_SIZE = 8192;

/** DEFINE_PER_CPU(struct defer_free, defer_free_objects) */
export class DeferFree implements Owner {
  freed = false;
  readonly name = 'defer_free_objects';
  readonly objects: LlistHead[] = [];
  readonly work: IrqWork[] = [];
  constructor(k: Kernel) {
    for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
      const h = new LlistHead(this, `objects[cpu${cpu}]`);
      k.register(h);
      this.objects.push(h);
      const w = new IrqWork(this, `work[cpu${cpu}]`, (y) => freeDeferredObjects(y, this), 'free_deferred_objects');
      initIrqWork(null, w);
      this.work.push(w);
    }
  }
}
const defers = shared('deferFree', () => new WeakMap<Kernel, DeferFree>());
export function deferFreeObjects(k: Kernel): DeferFree {
  let d = defers.get(k);
  if (!d) defers.set(k, (d = new DeferFree(k)));
  return d;
}

/** free_deferred_objects(): the irq_work (hardirq; a kthread on RT, where
 *  __slab_free()'s sleeping spinlocks are fine) */
function* freeDeferredObjects(x: Context, df: DeferFree): Gen<void> {
  const objs = df.objects[x.cpu]!;
  if (yield* llistEmpty(x, objs)) return;
  const first = yield* llistDelAll(x, objs);
  for (const o of eachSafe(x, first)) {
    const slab = virtToSlab(o);
    o.next = null;
    yield* __slabFree(x, slab.cache, slab, [o]);
  }
}

/** defer_free(): llist_add() onto this CPU's list, irq_work when it was
 *  empty; preemption off around both (guard(preempt)) */
export const deferFree = kfunc('defer_free', function* (x: Context, s: KmemCache, head: Obj): Gen<void> {
  void s;
  const df = deferFreeObjects(x.k);
  x.preemptCount++;
  try {
    if (yield* llistAdd(x, head, df.objects[x.cpu]!)) yield* irqWorkQueue(x, df.work[x.cpu]!);
  } finally {
    x.preemptCount--;
  }
});

/** defer_free_barrier(): irq_work_sync() on every CPU's work */
export const deferFreeBarrier = kfunc('defer_free_barrier', function* (x: Context): Gen<void> {
  const df = deferFreeObjects(x.k);
  for (const w of df.work) yield* irqWorkSync(x, w);
});

/** The kmalloc caches by size, made as boot makes them (the model makes
 *  each at its first use, with no step and no fault). */
export interface KmallocCaches {
  get(size: number): KmemCache;
}

/** kmalloc_nolock(size, 0, NUMA_NO_NODE): NULL means ENOMEM */
export const kmallocNolock = kfunc('kmalloc_nolock', function* (x: Context, caches: KmallocCaches, size: number, gfpFlags: Gfp = 0): Gen<Obj | null> {
  const allocGfp = __GFP_NOWARN | __GFP_NOMEMALLOC | gfpFlags;
  if (x.k.cfg.preemptRt && (x.level === 'nmi' || x.level === 'hardirq')) {
    yield x.k.labels ? `kmalloc_nolock(${size}) in ${x.level} on PREEMPT_RT: NULL` : '';
    return null;
  }
  noSpinEnter(x, 'kmalloc_nolock');
  try {
    let canRetry = true;
    for (;;) {
      if (size > KMALLOC_MAX_CACHE_SIZE) return null;
      const s = caches.get(kmallocSizeRoundup(size));
      let ret = yield* allocFromPcs(x, s, allocGfp);
      if (!ret) ret = yield* __slabAllocNode(x, s, allocGfp);
      if (ret) {
        s.judge?.allocated(x, s, ret, allocGfp);
        return ret;
      }
      // failed on a trylock over a holder, perhaps: try the next bucket
      if (!canRetry) return null;
      size = s.object_size + 1;
      canRetry = false;
    }
  } finally {
    noSpinExit(x);
  }
});

/** kfree_nolock(obj): only for objects of kmalloc_nolock() */
export const kfreeNolock = kfunc('kfree_nolock', function* (x: Context, object: Obj): Gen<void> {
  const slab = virtToSlab(object);
  const s = slab.cache;
  x.k.touch(x, s, 'cpu_sheaves');
  noSpinEnter(x, 'kfree_nolock');
  try {
    if (slab.node === numaMemId(x.k, x.cpu)) {
      if (yield* s.ops.kfree_nolock_to_pcs(x, s, object)) return;
    }
    // __slab_free() might need the list_lock: defer instead
    yield* deferFree(x, s, object);
  } finally {
    noSpinExit(x);
  }
});
