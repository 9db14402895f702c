// FREE_AFTER_RCU_GP, as the RFC's thread describes it: bpf_mem_free() does
// call_rcu() in batches to give objects back to slab; nothing is reused.
// The thread has no code, so this flavour runs on the RFC's machinery
// (wait_gp_reuse_free(), prepare_reuse_head, reuse_work, bpf_reuse_batch,
// the RFC teardown) with c->reuse_work bound to the function below, whose
// batch callback frees instead of making the batch reusable. Its names are
// ours, not the RFC's. Two RFC statements are not copied, so that this
// flavour shows only what is its own (docs/reuse-after-rcu-gp.md): its
// free_llist_extra loop links the nodes in, and it drops 'active' only
// after raw_spin_unlock(&c->reuse_lock).
import { atomicDec, localDec, localIncReturn, store } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistDelAll, eachSafe, llistDelAll } from '../kernel/llist.ts';
import { callRcu, synchronizeRcuExpedited } from '../kernel/rcupdate.ts';
import { rawSpinLock, rawSpinUnlock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { BpfReuseBatch, reuseOf } from './cache.ts';
import { freeAll } from './rcu.ts';

/** The batch callback: a normal grace period has passed, free to slab. */
export const bpfMaFreeBatchCb = kfunc('bpf_ma_free_batch_cb', function* (x: Context, batch: BpfReuseBatch): Gen<void> {
  const c = batch.c;
  const head = batch.head;
  x.k.unregister(batch.holder);
  yield* freeAll(x, c, head);
  yield* atomicDec(x, reuseOf(c).reuse_cb_in_progress);
  yield* x.k.slab.kfreeAux(x, batch.aux);
});

/** The kworker: prepare_reuse_head plus free_llist_extra into one batch. */
export function* bpfMaPrepareFreeWork(x: Context, c: BpfMemCache): Gen<void> {
  const r = reuseOf(c);
  const flags = localIrqSave(x);
  const own = c.cpu === x.cpu;
  if (!own) x.k.saw('reuse:kworker-on-other-cpu');
  if (own) WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
  yield* rawSpinLock(x, r.reuse_lock);
  let head = yield* __llistDelAll(x, r.prepare_reuse_head);
  let tail = r.prepare_reuse_tail;
  r.prepare_reuse_tail = null;
  yield* store(x, r.prepare_reuse_cnt, 0);
  yield* rawSpinUnlock(x, r.reuse_lock);
  if (own) yield* localDec(x, c.active);
  yield* localIrqRestore(x, flags);

  for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_llist_extra))) {
    x.k.saw('reuse:kworker-moves-free_llist_extra');
    if (!head) tail = llnode;
    llnode.next = head;
    head = llnode;
  }
  if (!head) {
    yield* atomicDec(x, r.reuse_cb_in_progress);
    return;
  }

  const aux = yield* x.k.slab.kmallocAux(x, 'bpf_reuse_batch');
  if (!aux) {
    x.k.saw('reuse:batch-alloc-failed');
    yield* synchronizeRcuExpedited(x);
    yield* freeAll(x, c, head);
    yield* atomicDec(x, r.reuse_cb_in_progress);
    return;
  }
  const batch = new BpfReuseBatch(aux, c, x.k.label('batch'));
  batch.head = head;
  batch.tail = tail;
  x.k.register(batch.holder);
  yield* callRcu(x, batch.rcu, (y) => bpfMaFreeBatchCb(y, batch), 'bpf_ma_free_batch_cb');
}
