// RFC (seed 001) teardown: drain_mem_cache() with abort_reuse,
// bpf_ma_cancel_reuse_work(), free_mem_alloc() with the extra barrier,
// destroy_mem_alloc() carrying the flags, and bpf_mem_alloc_destroy()
// counting free_cb_in_progress and reuse_cb_in_progress.
import { atomicRead } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { irqWorkSync } from '../kernel/irq_work.ts';
import { __llistDelAll, llistDelAll } from '../kernel/llist.ts';
import { rcuBarrier, rcuBarrierTasksTrace } from '../kernel/rcupdate.ts';
import type { Aux } from '../kernel/slab.ts';
import { rawSpinLockIrqsave, rawSpinUnlockIrqrestore } from '../kernel/spinlock.ts';
import { use } from '../kernel/fields.ts';
import type { Gen } from '../kernel/types.ts';
import { cancelWorkSync, queueWork, Work } from '../kernel/workqueue.ts';
import type { BpfMemAlloc, BpfMemCache, PercpuCaches } from '../memalloc/cache.ts';
import { freeMemAllocNoBarrier, type MaCaches } from '../memalloc/destroy.ts';
import { reuseOf, type ReuseCache } from './cache.ts';
import { freeAll } from './rcu.ts';

/** include/linux/bpf_mem_alloc.h, as the RFC extends it */
export const BPF_MA_PERCPU = 1 << 0;
export const BPF_MA_REUSE_AFTER_RCU_GP = 1 << 1;

/** struct bpf_mem_alloc with the flags the RFC keeps in it. */
export interface FlaggedMa extends MaCaches {
  flags: number;
}
export type ReuseMa = BpfMemAlloc & { flags: number };

/** drain_mem_cache(), RFC version: free_llist_extra is now drained with
 *  the atomic llist_del_all(), then abort_reuse is set under reuse_lock and
 *  the three reuse lists are emptied. */
export const drainMemCache = kfunc('drain_mem_cache', function* (x: Context, c: BpfMemCache, flags: number): Gen<void> {
  yield* freeAll(x, c, yield* __llistDelAll(x, c.free_by_rcu));
  yield* freeAll(x, c, yield* llistDelAll(x, c.waiting_for_gp));
  yield* freeAll(x, c, yield* __llistDelAll(x, c.free_llist));
  yield* freeAll(x, c, yield* llistDelAll(x, c.free_llist_extra));

  if (!(flags & BPF_MA_REUSE_AFTER_RCU_GP)) return;

  const r = reuseOf(c);
  const irq = yield* rawSpinLockIrqsave(x, r.reuse_lock);
  // c->abort_reuse = true: the kworker and bpf_ma_reuse_cb() now free
  // instead of queueing
  r.ops.set_abort_reuse(r);
  const head0 = yield* __llistDelAll(x, r.prepare_reuse_head);
  r.prepare_reuse_tail = null;
  const head1 = yield* __llistDelAll(x, r.reuse_ready_head);
  r.reuse_ready_tail = null;
  const head2 = yield* __llistDelAll(x, r.wait_for_free);
  yield* rawSpinUnlockIrqrestore(x, r.reuse_lock, irq);

  yield* freeAll(x, c, head0);
  yield* freeAll(x, c, head1);
  yield* freeAll(x, c, head2);
});

/** drain_mem_cache()'s `c->abort_reuse = true` (ReuseOps.set_abort_reuse). */
export function setAbortReuse(r: ReuseCache): void {
  r.abort_reuse = true;
}

/** bpf_ma_cancel_reuse_work(): cancel_work_sync() on every cache. */
export const bpfMaCancelReuseWork = kfunc('bpf_ma_cancel_reuse_work', function* (x: Context, ma: MaCaches): Gen<void> {
  for (const pc of [ma.cache, ma.caches]) {
    if (!pc) continue;
    for (const c of pc.caches) yield* cancelWorkSync(x, reuseOf(c).reuse_work);
  }
});

/** free_mem_alloc(), RFC version. */
export const freeMemAlloc = kfunc('free_mem_alloc', function* (x: Context, ma: FlaggedMa): Gen<void> {
  const reuseAfterRcuGp = (ma.flags & BPF_MA_REUSE_AFTER_RCU_GP) !== 0;
  // cancel the inflight kworkers
  if (reuseAfterRcuGp) yield* bpfMaCancelReuseWork(x, ma);
  // tasks trace: bpf_ma_free_reusable_cb(); rcu: bpf_ma_reuse_cb()
  yield* rcuBarrierTasksTrace(x);
  if (reuseAfterRcuGp || !x.k.cfg.rcuTraceImpliesRcuGp) yield* rcuBarrier(x);
  yield* freeMemAllocNoBarrier(x, ma);
});

/** The kmalloc'd copy of bpf_mem_alloc the deferred path frees. */
class MaCopy implements FlaggedMa {
  private _flags = 0;
  private _cache: PercpuCaches | null = null;
  private _caches: PercpuCaches | null = null;
  // the copy's fields, read and written through fields.ts: a read after
  // kfree(copy) is NoUseAfterFree
  get flags(): number {
    use(this.aux, 'flags');
    return this._flags;
  }
  set flags(v: number) {
    use(this.aux, 'flags', true);
    this._flags = v;
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
  readonly work: Work;
  constructor(readonly aux: Aux) {
    this.work = new Work(aux, 'work', (x) => freeMemAllocDeferred(x, this), 'free_mem_alloc_deferred');
  }
}

function* freeMemAllocDeferred(x: Context, copy: MaCopy): Gen<void> {
  yield* freeMemAlloc(x, copy);
  yield* x.k.slab.kfreeAux(x, copy.aux);
}

/** destroy_mem_alloc(), RFC version: the copy carries ma->flags. */
export const destroyMemAlloc = kfunc('destroy_mem_alloc', function* (x: Context, ma: FlaggedMa, rcuInProgress: number): Gen<void> {
  if (!rcuInProgress) {
    yield* freeMemAllocNoBarrier(x, ma);
    return;
  }
  const aux = yield* x.k.slab.kmallocAux(x, 'copy');
  if (!aux) {
    yield* freeMemAlloc(x, ma);
    return;
  }
  const copy = new MaCopy(aux);
  copy.flags = ma.flags;
  copy.cache = ma.cache;
  ma.cache = null;
  copy.caches = ma.caches;
  ma.caches = null;
  yield* queueWork(x, copy.work, true);
});

function* syncAndDrain(x: Context, pc: PercpuCaches, flags: number): Gen<number> {
  let rcuInProgress = 0;
  for (const c of pc.caches) {
    yield* irqWorkSync(x, c.refill_work);
    yield* drainMemCache(x, c, flags);
    rcuInProgress += yield* atomicRead(x, c.call_rcu_in_progress); // free_cb_in_progress
    // pending kworkers or RCU callbacks
    rcuInProgress += yield* atomicRead(x, reuseOf(c).reuse_cb_in_progress);
  }
  return rcuInProgress;
}

/** bpf_mem_alloc_destroy(), RFC version. */
export const bpfMemAllocDestroy = kfunc('bpf_mem_alloc_destroy', function* (x: Context, ma: ReuseMa): Gen<void> {
  if (ma.cache) yield* destroyMemAlloc(x, ma, yield* syncAndDrain(x, ma.cache, ma.flags));
  if (ma.caches) yield* destroyMemAlloc(x, ma, yield* syncAndDrain(x, ma.caches, ma.flags));
});
