// Bug zoo: the RFC's drain_mem_cache() without `c->abort_reuse = true`.
// It empties the reuse lists, but a bpf_ma_reuse_cb() still in flight (or a
// kworker past synchronize_rcu_expedited()) then puts its batch back on
// reuse_ready_head of the drained cache, and free_mem_alloc() frees the
// cache with the objects on it.
import { kfunc, type Context } from '../kernel/context.ts';
import { __llistDelAll, llistDelAll } from '../kernel/llist.ts';
import { rawSpinLockIrqsave, rawSpinUnlockIrqrestore } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { reuseOf } from '../reuse/cache.ts';
import { bpfMemAllocDestroy, BPF_MA_REUSE_AFTER_RCU_GP } from '../reuse/destroy.ts';
import { freeAll } from '../reuse/rcu.ts';
import { IRQ_ORDER_FINDING } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';

/** drain_mem_cache() as in the RFC, minus the abort_reuse store. */
const drainWithoutAbortReuse = kfunc('drain_mem_cache', function* (x: Context, c: BpfMemCache, flags: number): Gen<void> {
  yield* freeAll(x, c, yield* __llistDelAll(x, c.free_by_rcu));
  yield* freeAll(x, c, yield* llistDelAll(x, c.waiting_for_gp));
  yield* freeAll(x, c, yield* __llistDelAll(x, c.free_llist));
  yield* freeAll(x, c, yield* llistDelAll(x, c.free_llist_extra));
  if (!(flags & BPF_MA_REUSE_AFTER_RCU_GP)) return;

  const r = reuseOf(c);
  const irq = yield* rawSpinLockIrqsave(x, r.reuse_lock);
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

export const drainWithoutAbortReuseBug = definePolicy({
  ...reuseAfterRcuGp,
  // a zoo variant: every violation it shows is the bug, none is excused
  // the RFC's own defects would hide the missing abort_reuse; seed 004's IRQ order stays a known finding
  findings: IRQ_ORDER_FINDING,
  name: 'bug/drain-without-abort-reuse',
  summary: 'reuse-after-rcu-gp whose drain_mem_cache() never sets abort_reuse',
  bug: {
    invariants: ['NoLeakAtTeardown'],
    why: 'a bpf_ma_reuse_cb() in flight at teardown refills the drained reuse_ready_head; the objects are never freed',
  },
  destroy: (x, ma) => bpfMemAllocDestroy(x, ma, drainWithoutAbortReuse),
});
