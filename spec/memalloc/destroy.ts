// memalloc.c teardown: drain_mem_cache(), free_mem_alloc_no_barrier(),
// free_mem_alloc(), free_mem_alloc_deferred(), destroy_mem_alloc(),
// bpf_mem_alloc_destroy().
import { atomicRead } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { irqWorkSync } from '../kernel/irq_work.ts';
import { __llistDelAll, eachSafe, llistDelAll } from '../kernel/llist.ts';
import { rcuBarrier, rcuBarrierTasksTrace } from '../kernel/rcupdate.ts';
import type { Aux } from '../kernel/slab.ts';
import type { Gen } from '../kernel/types.ts';
import { queueWork, Work } from '../kernel/workqueue.ts';
import type { BpfMemAlloc, BpfMemCache, PercpuCaches } from './cache.ts';
import { freeOne } from './refill.ts';

/** drain_mem_cache(): no program uses the cache any more; empty its lists. */
export const drainMemCache = kfunc('drain_mem_cache', function* (x: Context, c: BpfMemCache): Gen<void> {
  for (const n of eachSafe(x, yield* __llistDelAll(x, c.free_by_rcu))) yield* freeOne(x, c, n);
  // __free_rcu() may race on waiting_for_gp: the atomic llist_del_all()
  for (const n of eachSafe(x, yield* llistDelAll(x, c.waiting_for_gp))) yield* freeOne(x, c, n);
  for (const n of eachSafe(x, yield* __llistDelAll(x, c.free_llist))) yield* freeOne(x, c, n);
  for (const n of eachSafe(x, yield* __llistDelAll(x, c.free_llist_extra))) yield* freeOne(x, c, n);
});

/** free_percpu() of a percpu cache array: every cache in it is gone. */
export function* freePercpuCaches(x: Context, pc: PercpuCaches | null): Gen<void> {
  if (!pc) return;
  pc.freed = true;
  x.k.slab.structs.delete(pc);
  for (const c of pc.caches) c.freed = true;
  x.touched = pc.name;
  yield `free_percpu(${pc.name})`;
}

/** The part of struct bpf_mem_alloc that teardown hands around. */
export interface MaCaches {
  cache: PercpuCaches | null;
  caches: PercpuCaches | null;
}

export const freeMemAllocNoBarrier = kfunc('free_mem_alloc_no_barrier', function* (x: Context, ma: MaCaches): Gen<void> {
  yield* freePercpuCaches(x, ma.cache);
  yield* freePercpuCaches(x, ma.caches);
  ma.cache = null;
  ma.caches = null;
});

/** free_mem_alloc(): wait for pending __free_rcu_tasks_trace()/__free_rcu(). */
export const freeMemAlloc = kfunc('free_mem_alloc', function* (x: Context, ma: MaCaches): Gen<void> {
  yield* rcuBarrierTasksTrace(x);
  if (!x.k.cfg.rcuTraceImpliesRcuGp) yield* rcuBarrier(x);
  yield* freeMemAllocNoBarrier(x, ma);
});

/** The kmalloc'd copy of bpf_mem_alloc that the deferred path frees. */
class MaCopy implements MaCaches {
  cache: PercpuCaches | null = null;
  caches: PercpuCaches | null = null;
  readonly work: Work;
  constructor(readonly aux: Aux) {
    this.work = new Work(aux, 'work', (x) => freeMemAllocDeferred(x, this), 'free_mem_alloc_deferred');
  }
}

export function* freeMemAllocDeferred(x: Context, copy: MaCopy): Gen<void> {
  yield* freeMemAlloc(x, copy);
  yield* x.k.slab.kfreeAux(x, copy.aux);
}

/** destroy_mem_alloc(): fast path, inline barriers, or a deferred worker. */
export const destroyMemAlloc = kfunc('destroy_mem_alloc', function* (x: Context, ma: MaCaches, rcuInProgress: number): Gen<void> {
  if (!rcuInProgress) {
    // no callbacks pending: no barriers needed
    yield* freeMemAllocNoBarrier(x, ma);
    return;
  }
  x.k.saw('teardown-with-callbacks-in-flight');
  const aux = yield* x.k.slab.kmallocAux(x, 'copy');
  if (!aux) {
    yield* freeMemAlloc(x, ma); // slow path with inline barriers
    return;
  }
  const copy = new MaCopy(aux);
  copy.cache = ma.cache;
  ma.cache = null;
  copy.caches = ma.caches;
  ma.caches = null;
  yield* queueWork(x, copy.work, true);
});

/** The per-cache part of bpf_mem_alloc_destroy(): sync, drain, count. */
function* syncAndDrain(x: Context, pc: PercpuCaches): Gen<number> {
  let rcuInProgress = 0;
  for (const c of pc.caches) {
    yield* irqWorkSync(x, c.refill_work);
    yield* drainMemCache(x, c);
    rcuInProgress += yield* atomicRead(x, c.call_rcu_in_progress);
  }
  return rcuInProgress;
}

/** bpf_mem_alloc_destroy() */
export const bpfMemAllocDestroy = kfunc('bpf_mem_alloc_destroy', function* (x: Context, ma: BpfMemAlloc): Gen<void> {
  if (ma.cache) yield* destroyMemAlloc(x, ma, yield* syncAndDrain(x, ma.cache));
  if (ma.caches) yield* destroyMemAlloc(x, ma, yield* syncAndDrain(x, ma.caches));
});
