// Control: the RFC's BPF_MA_REUSE_AFTER_RCU_GP flavour (seed 001) with its
// defects fixed the smallest plausible way (docs/reuse-after-rcu-gp.md):
//
// 1. bpf_ma_prepare_reuse_work() links the nodes of free_llist_extra in
//    (`head = llnode`, not `head = llnode->next`): Conservation,
//    NoLeakAtTeardown.
// 2. Every context that takes reuse_lock on the cache's CPU holds
//    c->active, with IRQs off, around its reuse_lock section, as
//    wait_gp_reuse_free() and the kworker already do: bpf_ma_reuse_cb()
//    (through bpf_ma_add_to_reuse_ready_or_free()), bpf_ma_free_reusable_cb()
//    and bpf_ma_get_reusable_obj(). An NMI free that finds active == 1 then
//    knows no context beneath it on this CPU holds the lock, and one that
//    finds it taken goes to free_llist_extra: NoDeadlock (finding 2).
//    On another CPU (the cache's CPU went offline) 'active' is left alone,
//    as the RFC's kworker does: a holder there is no context an NMI on the
//    cache's CPU interrupted. drain_mem_cache() is not changed: it runs
//    from map_free, after the last program using the map has finished, so
//    no NMI free can reach the cache.
// 3. The kworker drops 'active' after raw_spin_unlock(&c->reuse_lock), not
//    before: NoDeadlock (finding 3).
// 4. unit_alloc() raises the refill before local_irq_restore() (upstream
//    62cf51cb0ebe, as control/bpf-ma-raise-before-restore):
//    NoAllocFailureWhileRefillStalled. The flavour's unit_free()
//    (wait_gp_reuse_free()) raises no irq_work, so it is unchanged.
//
// Everything else is the RFC's code, reached through the seams of
// spec/reuse/ (init options work/ops/refill, alloc_bulk()'s getReusable,
// bpf_ma_reuse_cb()'s addToReuseReady).
import { atomicDec, atomicSet, localDec, localIncReturn, store } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAddBatch, __llistDelAll, __llistDelFirst, eachSafe, llistDelAll, llistEmpty } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import { callRcu, callRcuTasksTrace, synchronizeRcuExpedited } from '../kernel/rcupdate.ts';
import { rawSpinLock, rawSpinUnlock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { memallocOps } from '../memalloc/ops.ts';
import { BpfReuseBatch, reuseOf } from '../reuse/cache.ts';
import { bpfMaReuseInit } from '../reuse/init.ts';
import { freeAll, bpfMaReuseCb } from '../reuse/rcu.ts';
import { bpfMemRefill } from '../reuse/refill.ts';
import { bpfMaTryFreeReuseObjs } from '../reuse/work.ts';
import { unitAllocRaiseFirst } from './control-bpf-ma-raise-before-restore.ts';
import { definePolicy } from './policy.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';

/** local_irq_save() and, on the cache's own CPU, 'active' taken: what a
 *  reuse_lock section needs so that no NMI on this CPU spins on it. */
function* reuseSectionEnter(x: Context, c: BpfMemCache): Gen<{ flags: boolean; own: boolean }> {
  const flags = localIrqSave(x);
  const own = c.cpu === x.cpu;
  if (own) WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
  return { flags, own };
}

function* reuseSectionExit(x: Context, c: BpfMemCache, s: { flags: boolean; own: boolean }): Gen<void> {
  if (s.own) yield* localDec(x, c.active);
  yield* localIrqRestore(x, s.flags);
}

/** bpf_ma_add_to_reuse_ready_or_free(), its reuse_lock section under 'active'. */
export const addToReuseReadyOrFreeFixed = kfunc(
  'bpf_ma_add_to_reuse_ready_or_free',
  function* (x: Context, c: BpfMemCache, head: Obj, tail: Obj): Gen<void> {
    const r = reuseOf(c);
    const s = yield* reuseSectionEnter(x, c);
    yield* rawSpinLock(x, r.reuse_lock);
    const abort = r.abort_reuse;
    if (!abort) {
      if (yield* llistEmpty(x, r.reuse_ready_head)) r.reuse_ready_tail = tail;
      yield* __llistAddBatch(x, head, tail, r.reuse_ready_head);
    } else x.k.saw('reuse:abort-in-callback');
    yield* rawSpinUnlock(x, r.reuse_lock);
    yield* reuseSectionExit(x, c, s);

    if (abort) yield* freeAll(x, c, head);
  },
);

/** bpf_ma_free_reusable_cb(), its reuse_lock section under 'active'. */
export function* freeReusableCbFixed(x: Context, c: BpfMemCache): Gen<void> {
  const r = reuseOf(c);
  const s = yield* reuseSectionEnter(x, c);
  yield* rawSpinLock(x, r.reuse_lock);
  const head = yield* __llistDelAll(x, r.wait_for_free);
  yield* rawSpinUnlock(x, r.reuse_lock);
  yield* reuseSectionExit(x, c, s);

  yield* freeAll(x, c, head);
  yield* atomicSet(x, r.free_cb_in_progress, 0);
}

/** bpf_ma_get_reusable_obj(), its reuse_lock section under 'active'. */
export const getReusableObjFixed = kfunc('bpf_ma_get_reusable_obj', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  const r = reuseOf(c);
  if ((yield* llistEmpty(x, r.reuse_ready_head)) && (yield* llistEmpty(x, r.wait_for_free))) return null;

  const s = yield* reuseSectionEnter(x, c);
  yield* rawSpinLock(x, r.reuse_lock);
  let obj = yield* __llistDelFirst(x, r.reuse_ready_head);
  if (obj) {
    if (yield* llistEmpty(x, r.reuse_ready_head)) r.reuse_ready_tail = null;
    x.k.saw('reuse:from-reuse_ready');
  } else {
    obj = yield* __llistDelFirst(x, r.wait_for_free);
    if (obj) x.k.saw('reuse:from-wait_for_free');
  }
  yield* rawSpinUnlock(x, r.reuse_lock);
  yield* reuseSectionExit(x, c, s);
  return obj;
});

/** bpf_ma_prepare_reuse_work() with 'active' dropped after the unlock and
 *  the free_llist_extra loop linking its nodes in. */
export function* prepareReuseWorkFixed(x: Context, c: BpfMemCache): Gen<void> {
  const r = reuseOf(c);
  const flags = localIrqSave(x);
  // on another CPU (the cache's CPU went offline) 'active' is left alone
  const own = c.cpu === x.cpu;
  if (!own) x.k.saw('reuse:kworker-on-other-cpu');
  if (own) WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
  yield* rawSpinLock(x, r.reuse_lock);
  let head = yield* __llistDelAll(x, r.prepare_reuse_head);
  let tail = r.prepare_reuse_tail;
  r.prepare_reuse_tail = null;
  yield* store(x, r.prepare_reuse_cnt, 0);

  // reuse_ready moves to wait_for_free, still reusable until the callback
  const doFree = yield* bpfMaTryFreeReuseObjs(x, c);
  yield* rawSpinUnlock(x, r.reuse_lock);
  // fixed: 'active' drops only once reuse_lock is released
  if (own) yield* localDec(x, c.active);
  yield* localIrqRestore(x, flags);

  if (doFree) {
    x.k.saw('reuse:free_reusable_cb-queued');
    yield* callRcuTasksTrace(x, c.rcu, (y) => freeReusableCbFixed(y, c), 'bpf_ma_free_reusable_cb');
  }

  for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_llist_extra))) {
    x.k.saw('reuse:kworker-moves-free_llist_extra');
    if (!head) tail = llnode;
    llnode.next = head;
    head = llnode; // fixed: was `head = llnode->next`
  }
  // draining is in progress?
  if (!head) {
    yield* atomicDec(x, r.reuse_cb_in_progress);
    return;
  }

  const aux = yield* x.k.slab.kmallocAux(x, 'bpf_reuse_batch');
  if (!aux) {
    x.k.saw('reuse:batch-alloc-failed');
    yield* synchronizeRcuExpedited(x);
    yield* addToReuseReadyOrFreeFixed(x, c, head, tail!);
    yield* atomicDec(x, r.reuse_cb_in_progress);
    return;
  }

  const batch = new BpfReuseBatch(aux, c, x.k.label('batch'));
  batch.head = head;
  batch.tail = tail;
  x.k.register(batch.holder);
  yield* callRcu(x, batch.rcu, (y) => bpfMaReuseCb(y, batch, addToReuseReadyOrFreeFixed), 'bpf_ma_reuse_cb');
}

export const reuseAfterRcuGpFixed = definePolicy({
  ...reuseAfterRcuGp,
  name: 'control/reuse-after-rcu-gp-fixed',
  summary: 'the RFC flavour (seed 001) with free_llist_extra linked in, every reuse_lock section under active with IRQs off (active dropped after the unlock), and irq_work_raise() before local_irq_restore()',
  findings: undefined,
  control: {
    of: 'reuse-after-rcu-gp',
    why: "the RFC's three defects (free_llist_extra dropped by the kworker; an NMI free spinning on reuse_lock held beneath it by bpf_ma_reuse_cb, bpf_ma_free_reusable_cb, bpf_ma_get_reusable_obj or the kworker after its early local_dec) and seed 004's IRQ-restore-before-raise order, each fixed",
  },
  init: (k, opts) =>
    bpfMaReuseInit(k, opts, {
      work: prepareReuseWorkFixed,
      workName: 'bpf_ma_prepare_reuse_work',
      ops: { ...memallocOps(), unit_alloc: unitAllocRaiseFirst },
      refill: (x, c) => bpfMemRefill(x, c, getReusableObjFixed),
    }),
});
