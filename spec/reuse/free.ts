// RFC (seed 001): wait_gp_reuse_free(), the unit_free() of the reuse
// flavour, and the two free entry points that reach it.
import { atomicDec, atomicInc, localDec, localIncReturn, plainAdd, store } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, llistAdd, llistEmpty } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import { rawSpinLock, rawSpinUnlock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import { queueWork, workPending } from '../kernel/workqueue.ts';
import { bpfMemCacheIdx, thisCpuBucket, thisCpuCache, type BpfMemAlloc, type BpfMemCache } from '../memalloc/cache.ts';
import { reuseOf } from './cache.ts';

/** wait_gp_reuse_free(): queue the object on prepare_reuse_head under
 *  reuse_lock and kick the kworker once more than high_watermark objects
 *  wait; an NMI that finds 'active' taken uses free_llist_extra. */
export const waitGpReuseFree = kfunc('wait_gp_reuse_free', function* (x: Context, c: BpfMemCache, llnode: Obj): Gen<void> {
  const r = reuseOf(c);
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    let tryQueueWork = false;
    yield* rawSpinLock(x, r.reuse_lock);
    if (yield* llistEmpty(x, r.prepare_reuse_head)) r.prepare_reuse_tail = llnode;
    yield* __llistAdd(x, llnode, r.prepare_reuse_head);
    if ((yield* plainAdd(x, r.prepare_reuse_cnt, +1)) > c.high_watermark) {
      // zeroed early so later frees do not queue_work() again
      yield* store(x, r.prepare_reuse_cnt, 0);
      tryQueueWork = true;
    }
    yield* rawSpinUnlock(x, r.reuse_lock);

    if (tryQueueWork && !(yield* workPending(x, r.reuse_work))) {
      // reuse_cb_in_progress counts an inflight kworker or bpf_ma_reuse_cb
      yield* atomicInc(x, r.reuse_cb_in_progress);
      if (!(yield* queueWork(x, r.reuse_work))) yield* atomicDec(x, r.reuse_cb_in_progress);
    }
  } else {
    yield* llistAdd(x, llnode, c.free_llist_extra);
  }
  yield* localDec(x, c.active);
  yield* localIrqRestore(x, flags);
});

/** unit_free() with BPF_MA_REUSE_AFTER_RCU_GP set: the flag test picks
 *  wait_gp_reuse_free(); immediate_reuse_free() is memalloc.c's unit_free. */
export const unitFree = kfunc('unit_free', function* (x: Context, c: BpfMemCache, ptr: Obj): Gen<void> {
  yield* waitGpReuseFree(x, c, ptr);
});

export const bpfMemFree = kfunc('bpf_mem_free', function* (x: Context, ma: BpfMemAlloc, ptr: Obj): Gen<void> {
  const idx = bpfMemCacheIdx(ptr.size);
  if (idx < 0) return;
  yield* unitFree(x, thisCpuBucket(x, ma.caches!, idx), ptr);
});

export const bpfMemCacheFree = kfunc('bpf_mem_cache_free', function* (x: Context, ma: BpfMemAlloc, ptr: Obj): Gen<void> {
  yield* unitFree(x, thisCpuCache(x, ma.cache!), ptr);
});
