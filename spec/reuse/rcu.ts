// RFC (seed 001): the RCU side of the reuse flavour. bpf_ma_reuse_cb()
// (normal RCU, one per bpf_reuse_batch) makes a batch reusable;
// bpf_ma_free_reusable_cb() (RCU tasks trace, on c->rcu) frees what is
// still on wait_for_free.
import { atomicDec, atomicSet } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { __llistAddBatch, __llistDelAll, eachSafe, llistEmpty } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import { rawSpinLockIrqsave, rawSpinUnlockIrqrestore } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { freeOne } from '../memalloc/refill.ts';
import { reuseOf, type BpfReuseBatch } from './cache.ts';

/** free_all(llnode, percpu): every object of a detached chain to slab. */
export const freeAll = kfunc('free_all', function* (x: Context, c: BpfMemCache, llnode: Obj | null): Gen<void> {
  for (const pos of eachSafe(x, llnode)) yield* freeOne(x, c, pos);
});

/** bpf_ma_add_to_reuse_ready_or_free(): splice head..tail in front of
 *  reuse_ready_head, or free it when drain_mem_cache() set abort_reuse. */
export const bpfMaAddToReuseReadyOrFree = kfunc(
  'bpf_ma_add_to_reuse_ready_or_free',
  function* (x: Context, c: BpfMemCache, head: Obj, tail: Obj): Gen<void> {
    const r = reuseOf(c);
    const flags = yield* rawSpinLockIrqsave(x, r.reuse_lock);
    const abort = r.abort_reuse;
    if (!abort) {
      if (yield* llistEmpty(x, r.reuse_ready_head)) r.reuse_ready_tail = tail;
      yield* __llistAddBatch(x, head, tail, r.reuse_ready_head);
    } else x.k.saw('reuse:abort-in-callback');
    yield* rawSpinUnlockIrqrestore(x, r.reuse_lock, flags);

    if (abort) yield* freeAll(x, c, head);
  },
);

export type AddToReuseReadyOrFree = (x: Context, c: BpfMemCache, head: Obj, tail: Obj) => Gen<void>;

/** bpf_ma_reuse_cb(): a normal grace period has passed since the batch's
 *  objects were freed (addToReuseReady is a seam for control policies;
 *  default the RFC's bpf_ma_add_to_reuse_ready_or_free()). */
export function* bpfMaReuseCb(x: Context, batch: BpfReuseBatch, addToReuseReady: AddToReuseReadyOrFree = bpfMaAddToReuseReadyOrFree): Gen<void> {
  const c = batch.c;
  // the chain is handed on here: from now on the batch does not hold it
  x.k.unregister(batch.holder);
  yield* addToReuseReady(x, c, batch.head!, batch.tail!);
  yield* atomicDec(x, reuseOf(c).reuse_cb_in_progress);
  yield* x.k.slab.kfreeAux(x, batch.aux);
}

/** bpf_ma_free_reusable_cb(): an RCU-tasks-trace grace period has passed
 *  since reuse_ready moved to wait_for_free; free what nobody reused. */
export function* bpfMaFreeReusableCb(x: Context, c: BpfMemCache): Gen<void> {
  const r = reuseOf(c);
  const flags = yield* rawSpinLockIrqsave(x, r.reuse_lock);
  const head = yield* __llistDelAll(x, r.wait_for_free);
  yield* rawSpinUnlockIrqrestore(x, r.reuse_lock, flags);

  yield* freeAll(x, c, head);
  yield* atomicSet(x, r.free_cb_in_progress, 0);
}
