// FREE_AFTER_RCU_GP, as the RFC's thread describes it: bpf_mem_free() does
// call_rcu() in batches to give objects back to slab; nothing is reused.
// The thread has no code, so this flavour runs on the RFC's machinery
// (wait_gp_reuse_free(), prepare_reuse_head, reuse_work and its kworker,
// bpf_reuse_batch, the RFC teardown) with the ReuseOps entries below: no
// reuse_ready to move, and a batch whose grace period passed is freed
// instead of made reusable. Its names are ours, not the RFC's. Two RFC
// statements are not taken, so that this flavour shows only what is its
// own (docs/reuse-after-rcu-gp.md): its free_llist_extra loop links the
// nodes in, and it drops 'active' only after raw_spin_unlock(&c->reuse_lock).
import { localDec } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import { rawSpinUnlock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { reuseOf } from './cache.ts';
import type { ReuseOps } from './ops.ts';
import { bpfMaReuseCb, freeAll } from './rcu.ts';

/** The end of the kworker's reuse_lock section with 'active' dropped only
 *  once the lock is released (ReuseOps.prepare_reuse_unlock). */
export function* prepareReuseUnlockThenDec(x: Context, c: BpfMemCache, own: boolean): Gen<boolean> {
  const r = reuseOf(c);
  const doFree = yield* r.ops.try_free_reuse_objs(x, c);
  yield* rawSpinUnlock(x, r.reuse_lock);
  if (own) yield* localDec(x, c.active);
  return doFree;
}

/** `head = llnode`: the free_llist_extra loop links each node in
 *  (ReuseOps.extra_loop_head). */
export const extraLoopHeadLinked = (llnode: Obj): Obj | null => llnode;

/** The batch callback: a normal grace period has passed, free to slab
 *  (bpf_ma_reuse_cb()'s steps with add_to_reuse_ready_or_free = free_all). */
export const bpfMaFreeBatchCb = kfunc('bpf_ma_free_batch_cb', bpfMaReuseCb);

export const FREE_AFTER_GP_OPS: Partial<ReuseOps> = {
  // nothing is reusable: no reuse_ready to move to wait_for_free
  *try_free_reuse_objs() {
    return false;
  },
  prepare_reuse_unlock: prepareReuseUnlockThenDec,
  extra_loop_head: extraLoopHeadLinked,
  add_to_reuse_ready_or_free: (x, c, head) => freeAll(x, c, head),
  reuse_cb: bpfMaFreeBatchCb,
  reuse_cb_name: 'bpf_ma_free_batch_cb',
};
