// Bug zoo (a closed window: local_irq_restore() is a step): unit_alloc()
// that re-enables IRQs before it drops `active`. An irq_work queued
// meanwhile (from an NMI, or by a task that preempts at the restore) runs
// alloc_bulk() at the restore while `active` is still held beneath it.
import { WARN_ON } from '../kernel/bug.ts';
import type { Context } from '../kernel/context.ts';
import { localIrqRestore } from '../kernel/irqflags.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** unit_alloc()'s exit (spec/memalloc/unit.ts: unitAllocExit()) with
 *  local_irq_restore() moved above local_dec(). */
function* unitAllocExitRestoringEarly(x: Context, c: BpfMemCache, flags: boolean, llnode: Obj | null, cnt: number): Gen<void> {
  yield* localIrqRestore(x, flags); // the bug: was after local_dec()
  yield* c.ops.active_exit(x, c); // local_dec(&c->active)
  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');
  yield* c.ops.unit_alloc_raise(x, c, llnode, cnt);
}

export const unitAllocRestoresEarly = definePolicy({
  ...bpfMa,
  name: 'bug/unit-alloc-restores-early',
  summary: 'unit_alloc() re-enables IRQs before local_dec(&c->active)',
  bug: {
    invariants: ['NoKernelWarn'],
    why: 'an irq_work pending at the early local_irq_restore() runs alloc_bulk() while active is still held: WARN_ON_ONCE(local_inc_return(&c->active) != 1)',
  },
  init: withOps({ unit_alloc_exit: unitAllocExitRestoringEarly }),
});
