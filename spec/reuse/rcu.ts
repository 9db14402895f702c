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

/** `raw_spin_lock_irqsave(&c->reuse_lock, flags)` of the RCU callbacks and
 *  bpf_ma_get_reusable_obj() (ReuseOps.reuse_lock_irqsave): IRQs off, but
 *  'active' not taken, so an NMI free on this CPU may spin on the lock
 *  held beneath it (the RFC's defect, NoDeadlock). */
export const reuseLockIrqsave = (x: Context, c: BpfMemCache): Gen<boolean> => rawSpinLockIrqsave(x, reuseOf(c).reuse_lock);

export const reuseUnlockIrqrestore = (x: Context, c: BpfMemCache, flags: unknown): Gen<void> =>
  rawSpinUnlockIrqrestore(x, reuseOf(c).reuse_lock, flags as boolean);

/** bpf_ma_add_to_reuse_ready_or_free(): splice head..tail in front of
 *  reuse_ready_head, or free it when drain_mem_cache() set abort_reuse. */
export const bpfMaAddToReuseReadyOrFree = kfunc(
  'bpf_ma_add_to_reuse_ready_or_free',
  function* (x: Context, c: BpfMemCache, head: Obj, tail: Obj): Gen<void> {
    const r = reuseOf(c);
    const flags = yield* r.ops.reuse_lock_irqsave(x, c);
    const abort = r.abort_reuse;
    if (!abort) {
      if (yield* llistEmpty(x, r.reuse_ready_head)) r.reuse_ready_tail = tail;
      yield* __llistAddBatch(x, head, tail, r.reuse_ready_head);
    }
    yield* r.ops.reuse_unlock_irqrestore(x, c, flags);

    if (abort) yield* freeAll(x, c, head);
  },
);

/** bpf_ma_reuse_cb(): a normal grace period has passed since the batch's
 *  objects were freed. */
export function* bpfMaReuseCb(x: Context, batch: BpfReuseBatch): Gen<void> {
  const c = batch.c;
  // the chain is handed on here: from now on the batch does not hold it
  x.k.unregister(batch.holder);
  yield* reuseOf(c).ops.add_to_reuse_ready_or_free(x, c, batch.head!, batch.tail!);
  yield* atomicDec(x, reuseOf(c).reuse_cb_in_progress);
  yield* x.k.slab.kfreeAux(x, batch.aux);
}

/** bpf_ma_free_reusable_cb(): an RCU-tasks-trace grace period has passed
 *  since reuse_ready moved to wait_for_free; free what nobody reused. */
export function* bpfMaFreeReusableCb(x: Context, c: BpfMemCache): Gen<void> {
  const r = reuseOf(c);
  const flags = yield* r.ops.reuse_lock_irqsave(x, c);
  const head = yield* __llistDelAll(x, r.wait_for_free);
  yield* r.ops.reuse_unlock_irqrestore(x, c, flags);

  yield* freeAll(x, c, head);
  yield* atomicSet(x, r.free_cb_in_progress, 0);
}
