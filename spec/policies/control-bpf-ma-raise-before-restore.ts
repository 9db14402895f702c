// Control: memalloc.c with upstream's order in unit_alloc()/unit_free()
// (commits 62cf51cb0ebe and 566f6de3cea3, "Enable IRQ after irq_work_raise()
// completes"): the refill is claimed and queued with IRQs still off, so no
// task can preempt between the two and the irq_work runs at the restore.
// Seed 004's known finding NoAllocFailureWhileRefillStalled must be gone.
// The commits move one line in each function: so do the two exits below
// (spec/memalloc/unit.ts: unitAllocExit(), unitFreeExit()).
import { WARN_ON } from '../kernel/bug.ts';
import type { Context } from '../kernel/context.ts';
import { localIrqRestore } from '../kernel/irqflags.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** unit_alloc()'s exit, local_irq_restore() last. */
export function* unitAllocExitRaiseFirst(x: Context, c: BpfMemCache, flags: boolean, llnode: Obj | null, cnt: number): Gen<void> {
  yield* c.ops.active_exit(x, c); // local_dec(&c->active)
  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');
  yield* c.ops.unit_alloc_raise(x, c, llnode, cnt);
  // IRQs back on only once the irq_work is queued
  yield* localIrqRestore(x, flags);
}

/** unit_free()'s exit, local_irq_restore() last. */
export function* unitFreeExitRaiseFirst(x: Context, c: BpfMemCache, flags: boolean, cnt: number): Gen<void> {
  yield* c.ops.active_exit(x, c); // local_dec(&c->active)
  yield* c.ops.unit_free_raise(x, c, cnt);
  yield* localIrqRestore(x, flags);
}

export const bpfMaRaiseBeforeRestore = definePolicy({
  ...bpfMa,
  name: 'control/bpf-ma-raise-before-restore',
  summary: 'memalloc.c with irq_work_raise() before local_irq_restore() in unit_alloc()/unit_free() (upstream order)',
  findings: undefined,
  control: { of: 'bpf-ma', why: "seed 004's NoAllocFailureWhileRefillStalled finding, fixed as upstream did" },
  init: withOps({ unit_alloc_exit: unitAllocExitRaiseFirst, unit_free_exit: unitFreeExitRaiseFirst }),
});
