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
// Everything else is the RFC's code: each fix replaces one entry of the
// RFC's ops table (spec/reuse/ops.ts), and fix 4 one of memalloc.c's.
import { localDec, localIncReturn } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import type { Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { rawSpinLock, rawSpinUnlock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { memallocOps } from '../memalloc/ops.ts';
import { reuseOf } from '../reuse/cache.ts';
import { extraLoopHeadLinked, prepareReuseUnlockThenDec } from '../reuse/free_after_gp.ts';
import { bpfMaReuseInit } from '../reuse/init.ts';
import { unitAllocExitRaiseFirst } from './control-bpf-ma-raise-before-restore.ts';
import { definePolicy } from './policy.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';

interface ReuseSection {
  flags: boolean;
  own: boolean;
}

/** Fix 2: local_irq_save() and, on the cache's own CPU, 'active' taken,
 *  then raw_spin_lock(&c->reuse_lock): what a reuse_lock section needs so
 *  that no NMI on this CPU spins on it. */
function* reuseSectionEnter(x: Context, c: BpfMemCache): Gen<ReuseSection> {
  const flags = localIrqSave(x);
  const own = c.cpu === x.cpu;
  if (own) WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
  yield* rawSpinLock(x, reuseOf(c).reuse_lock);
  return { flags, own };
}

function* reuseSectionExit(x: Context, c: BpfMemCache, s: unknown): Gen<void> {
  const { flags, own } = s as ReuseSection;
  yield* rawSpinUnlock(x, reuseOf(c).reuse_lock);
  if (own) yield* localDec(x, c.active);
  yield* localIrqRestore(x, flags);
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
      ops: { ...memallocOps(), unit_alloc_exit: unitAllocExitRaiseFirst }, // fix 4
      reuseOps: {
        extra_loop_head: extraLoopHeadLinked, // fix 1: `head = llnode`
        reuse_lock_irqsave: reuseSectionEnter, // fix 2
        reuse_unlock_irqrestore: reuseSectionExit,
        prepare_reuse_unlock: prepareReuseUnlockThenDec, // fix 3
      },
    }),
});
