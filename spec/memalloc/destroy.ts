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
import { use } from '../kernel/fields.ts';
import { memallocOps, type MemallocOps } from './ops.ts';
import { freesStructs } from '../kernel/events.ts';

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
  for (const c of pc.all) c.freed = true;
  freesStructs(x, pc, pc.all);
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

/** The memalloc.c functions a teardown of these caches calls. */
export function opsOfCaches(ma: MaCaches): MemallocOps {
  return (ma.cache ?? ma.caches)?.caches[0]?.ops ?? memallocOps();
}

/** The kmalloc'd copy of bpf_mem_alloc that the deferred path frees; its
 *  fields are plain pointers of a kmalloc'd structure (NoUseAfterFree). */
export class MaCopy implements MaCaches {
  private _cache: PercpuCaches | null = null;
  private _caches: PercpuCaches | null = null;
  readonly work: Work;
  constructor(
    readonly aux: Aux,
    /** the functions of the allocator it copies (its work item calls through them) */
    readonly ops: MemallocOps = memallocOps(),
  ) {
    this.work = new Work(aux, 'work', (x) => this.ops.free_mem_alloc_deferred(x, this), 'free_mem_alloc_deferred');
  }
  get cache(): PercpuCaches | null {
    use(this.aux, 'cache');
    return this._cache;
  }
  set cache(v: PercpuCaches | null) {
    use(this.aux, 'cache', true);
    this._cache = v;
  }
  get caches(): PercpuCaches | null {
    use(this.aux, 'caches');
    return this._caches;
  }
  set caches(v: PercpuCaches | null) {
    use(this.aux, 'caches', true);
    this._caches = v;
  }
}

/** free_mem_alloc_deferred(): the work item of the deferred path. */
export function* freeMemAllocDeferred(x: Context, copy: MaCopy): Gen<void> {
  yield* opsOfCaches(copy).free_mem_alloc(x, copy);
  yield* x.k.slab.kfreeAux(x, copy.aux);
}

/** destroy_mem_alloc(): fast path, inline barriers, or a deferred worker. */
export const destroyMemAlloc = kfunc('destroy_mem_alloc', function* (x: Context, ma: MaCaches, rcuInProgress: number): Gen<void> {
  if (!rcuInProgress) {
    // no callbacks pending: no barriers needed
    yield* freeMemAllocNoBarrier(x, ma);
    return;
  }
  const aux = yield* x.k.slab.kmallocAux(x, 'copy');
  if (!aux) {
    yield* opsOfCaches(ma).free_mem_alloc(x, ma); // slow path with inline barriers
    return;
  }
  const copy = new MaCopy(aux, opsOfCaches(ma));
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
    yield* c.ops.drain_mem_cache(x, c);
    rcuInProgress += yield* atomicRead(x, c.call_rcu_in_progress);
  }
  return rcuInProgress;
}

/** bpf_mem_alloc_destroy() */
export const bpfMemAllocDestroy = kfunc('bpf_mem_alloc_destroy', function* (x: Context, ma: BpfMemAlloc): Gen<void> {
  const ops = opsOfCaches(ma);
  if (ma.cache) yield* ops.destroy_mem_alloc(x, ma, yield* syncAndDrain(x, ma.cache));
  if (ma.caches) yield* ops.destroy_mem_alloc(x, ma, yield* syncAndDrain(x, ma.caches));
});
