// The RFC's functions (seed 001) as an ops table, as spec/memalloc/ops.ts
// does for memalloc.c: every place where a flavour or a control differs
// from the RFC as written is one entry, a function or a one-statement
// seam, so a variant is `{ ...reuseOps(), entry: mine }` passed as
// ReuseInitOptions.reuseOps (spec/reuse/free_after_gp.ts and
// spec/policies/control-reuse-after-rcu-gp-fixed.ts show how). The
// defaults are the RFC's code, defects included, each flagged where it is.
import type { Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import type { BpfReuseBatch, ReuseCache } from './cache.ts';
import { setAbortReuse } from './destroy.ts';
import { bpfMaAddToReuseReadyOrFree, bpfMaReuseCb, reuseLockIrqsave, reuseUnlockIrqrestore } from './rcu.ts';
import { bpfMaTryFreeReuseObjs, extraLoopHead, prepareReuseUnlock } from './work.ts';

export interface ReuseOps {
  /** bpf_ma_try_free_reuse_objs(): the kworker's move of reuse_ready to
   *  wait_for_free (true: queue bpf_ma_free_reusable_cb) */
  try_free_reuse_objs(x: Context, c: BpfMemCache): Gen<boolean>;
  /** seam: the end of the kworker's reuse_lock section (local_dec of
   *  'active', bpf_ma_try_free_reuse_objs(), raw_spin_unlock()); returns
   *  do_free */
  prepare_reuse_unlock(x: Context, c: BpfMemCache, own: boolean): Gen<boolean>;
  /** seam: the kworker's free_llist_extra loop, the statement after
   *  `llnode->next = head`: the chain's new head */
  extra_loop_head(llnode: Obj): Obj | null;
  /** bpf_ma_add_to_reuse_ready_or_free(): where a chain goes once a normal
   *  grace period has passed */
  add_to_reuse_ready_or_free(x: Context, c: BpfMemCache, head: Obj, tail: Obj): Gen<void>;
  /** bpf_ma_reuse_cb(): the call_rcu() callback of a bpf_reuse_batch */
  reuse_cb(x: Context, batch: BpfReuseBatch): Gen<void>;
  /** its name, for traces */
  readonly reuse_cb_name: string;
  /** seam: `raw_spin_lock_irqsave(&c->reuse_lock, flags)` in the RCU
   *  callbacks and bpf_ma_get_reusable_obj() */
  reuse_lock_irqsave(x: Context, c: BpfMemCache): Gen<unknown>;
  /** seam: the matching raw_spin_unlock_irqrestore() */
  reuse_unlock_irqrestore(x: Context, c: BpfMemCache, flags: unknown): Gen<void>;
  /** seam: drain_mem_cache()'s `c->abort_reuse = true` */
  set_abort_reuse(r: ReuseCache): void;
}

let table: ReuseOps | null = null;

/** The RFC as seed 001 writes it (built at first use: the functions come
 *  from modules that import this one's users). */
export function reuseOps(): ReuseOps {
  return (table ??= {
    try_free_reuse_objs: bpfMaTryFreeReuseObjs,
    prepare_reuse_unlock: prepareReuseUnlock,
    extra_loop_head: extraLoopHead,
    add_to_reuse_ready_or_free: bpfMaAddToReuseReadyOrFree,
    reuse_cb: bpfMaReuseCb,
    reuse_cb_name: 'bpf_ma_reuse_cb',
    reuse_lock_irqsave: reuseLockIrqsave,
    reuse_unlock_irqrestore: reuseUnlockIrqrestore,
    set_abort_reuse: setAbortReuse,
  });
}
