// Control: the variant's own irq_work_queue() (bug/irq-work-raise-own-queue)
// with upstream's order in unit_alloc()/unit_free(), irq_work_raise()
// before local_irq_restore(): the copy's window between claim and enqueue
// has IRQs off, so no task preempts it, and judging the cache's
// refill_work finds nothing.
import { withOps } from './bpf-ma.ts';
import { irqWorkRaiseOwnQueue } from './bug-irq-work-raise-own-queue.ts';
import { bpfMaRaiseBeforeRestore, unitAllocExitRaiseFirst, unitFreeExitRaiseFirst } from './control-bpf-ma-raise-before-restore.ts';
import { definePolicy } from './policy.ts';

export const irqWorkRaiseOwnQueueFixed = definePolicy({
  ...bpfMaRaiseBeforeRestore,
  name: 'control/irq-work-raise-own-queue',
  summary: "the variant's own irq_work_queue() with irq_work_raise() before local_irq_restore(): clean",
  footprints: 'coarse',
  control: { of: 'bug/irq-work-raise-own-queue', why: 'the stalled-refill judge reads the cache, not the primitive: a copy of irq_work_queue() under the upstream order stays clean' },
  init: withOps({ unit_alloc_exit: unitAllocExitRaiseFirst, unit_free_exit: unitFreeExitRaiseFirst, irq_work_raise: irqWorkRaiseOwnQueue }),
});
