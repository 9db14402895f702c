// RFC (seed 001): the reuse kworker, bpf_ma_prepare_reuse_work(), and
// bpf_ma_try_free_reuse_objs() which it calls under reuse_lock.
import { atomicDec, atomicXchg, localDec, localIncReturn, store } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAddBatch, __llistDelAll, eachSafe, llistDelAll, llistEmpty } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import { callRcu, callRcuTasksTrace, synchronizeRcuExpedited } from '../kernel/rcupdate.ts';
import { rawSpinLock, rawSpinUnlock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { BpfReuseBatch, reuseOf } from './cache.ts';
import { bpfMaFreeReusableCb } from './rcu.ts';

/** bpf_ma_try_free_reuse_objs(): if free_cb_in_progress was free, move all
 *  of reuse_ready to wait_for_free (still reusable until the callback). */
export const bpfMaTryFreeReuseObjs = kfunc('bpf_ma_try_free_reuse_objs', function* (x: Context, c: BpfMemCache): Gen<boolean> {
  const r = reuseOf(c);
  if (yield* llistEmpty(x, r.reuse_ready_head)) return false;

  const doFree = !(yield* atomicXchg(x, r.free_cb_in_progress, 1));
  if (!doFree) return false;

  const head = (yield* __llistDelAll(x, r.reuse_ready_head))!;
  const tail = r.reuse_ready_tail!;
  r.reuse_ready_tail = null;

  yield* __llistAddBatch(x, head, tail, r.wait_for_free);
  return true;
});

/** The end of the kworker's reuse_lock section as the RFC writes it
 *  (ReuseOps.prepare_reuse_unlock). */
export function* prepareReuseUnlock(x: Context, c: BpfMemCache, own: boolean): Gen<boolean> {
  const r = reuseOf(c);
  // the defect: 'active' drops while reuse_lock is still held, so an NMI
  // free on this CPU spins on it (NoDeadlock)
  if (own) yield* localDec(x, c.active);
  // reuse_ready moves to wait_for_free, still reusable until the callback
  const doFree = yield* r.ops.try_free_reuse_objs(x, c);
  yield* rawSpinUnlock(x, r.reuse_lock);
  return doFree;
}

/** The free_llist_extra loop's `head = llnode->next;` as the RFC writes it
 *  (ReuseOps.extra_loop_head). The defect: after `llnode->next = head` that
 *  is head itself, so no node of free_llist_extra joins the chain
 *  (Conservation, NoLeakAtTeardown). */
export const extraLoopHead = (llnode: Obj): Obj | null => llnode.next;

/** bpf_ma_prepare_reuse_work(): the kworker on bpf_ma_wq. */
export function* bpfMaPrepareReuseWork(x: Context, c: BpfMemCache): Gen<void> {
  const r = reuseOf(c);
  const ops = r.ops;
  const flags = localIrqSave(x);
  // on another CPU (the cache's CPU went offline) 'active' is left alone
  const own = c.cpu === x.cpu;
  if (own) WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
  yield* rawSpinLock(x, r.reuse_lock);
  let head = yield* __llistDelAll(x, r.prepare_reuse_head);
  let tail = r.prepare_reuse_tail;
  r.prepare_reuse_tail = null;
  yield* store(x, r.prepare_reuse_cnt, 0);
  // local_dec(&c->active); bpf_ma_try_free_reuse_objs(); raw_spin_unlock()
  const doFree = yield* ops.prepare_reuse_unlock(x, c, own);
  yield* localIrqRestore(x, flags);

  if (doFree) {
    yield* callRcuTasksTrace(x, c.rcu, (y) => bpfMaFreeReusableCb(y, c), 'bpf_ma_free_reusable_cb');
  }

  for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_llist_extra))) {
    if (!head) tail = llnode;
    llnode.next = head;
    head = ops.extra_loop_head(llnode); // RFC: `head = llnode->next` (a defect: extraLoopHead)
  }
  // draining is in progress?
  if (!head) {
    // kworker completes and no RCU callback
    yield* atomicDec(x, r.reuse_cb_in_progress);
    return;
  }

  const aux = yield* x.k.slab.kmallocAux(x, 'bpf_reuse_batch');
  if (!aux) {
    yield* synchronizeRcuExpedited(x);
    yield* ops.add_to_reuse_ready_or_free(x, c, head, tail!);
    yield* atomicDec(x, r.reuse_cb_in_progress);
    return;
  }

  const batch = new BpfReuseBatch(aux, c, x.k.label('batch'));
  batch.head = head;
  batch.tail = tail;
  x.k.register(batch.holder);
  yield* callRcu(x, batch.rcu, (y) => ops.reuse_cb(y, batch), ops.reuse_cb_name);
}
