// kernel/irq_work.c: irq_work_queue_on(work, cpu) queues on another CPU
// and sends it an IPI: irq_work_claim() (one step), then the enqueue on
// that CPU's list (one step). It runs there in hardirq as soon as IRQs are
// on there (R8), interrupting whatever that CPU is doing, or in the RT
// kthread. Queued on the caller's own CPU it is irq_work_queue().
import type { Context } from './context.ts';
import { irqWorkQueue, type IrqWork } from './irq_work.ts';
import { Violation, type Gen } from './types.ts';

export function* irqWorkQueueOn(x: Context, w: IrqWork, cpu: number): Gen<boolean> {
  if (cpu === x.cpu) return yield* irqWorkQueue(x, w);
  const k = x.k;
  k.touch(x, w.owner, w.field);
  x.touched = w.name;
  if (w.pending) {
    yield k.labels ? `irq_work_claim(&${w.field}) = false (pending)` : '';
    return false;
  }
  w.pending = true;
  w.claimedBy = x;
  k.claimedIrqWork.add(w);
  yield k.labels ? `irq_work_claim(&${w.field})` : '';
  k.touch(x, w.owner, w.field);
  w.claimedBy = null;
  k.claimedIrqWork.delete(w);
  if (w.queued) throw new Violation('NeverOnTwoLists', `irq_work_queue_on(&${w.field}, ${cpu}) from cpu${x.cpu}: ${w.name} is already on cpu${w.cpu}'s list`);
  w.queued = true;
  w.cpu = cpu;
  k.pendingIrqWork.add(w);
  yield k.labels ? `__smp_call_single_queue(${cpu}, &${w.field}): IPI to cpu${cpu}` : '';
  return true;
}
