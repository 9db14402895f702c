// kernel/irq_work.c: queued on the current CPU, runs later in hardirq on
// that CPU when IRQs are on there (in a per-CPU kthread at task level with
// PREEMPT_RT); never concurrently with itself.
import type { Context } from './context.ts';
import { waitUntil } from './spinlock.ts';
import { Violation, type Gen, type Owner } from './types.ts';

export class IrqWork {
  pending = false;
  busy = false;
  cpu = 0;
  constructor(
    readonly owner: Owner,
    readonly field: string,
    readonly fn: (x: Context) => Gen<void>,
    readonly fnName: string,
  ) {}
  get name(): string {
    return `${this.owner.name}.${this.field}`;
  }
}

/** init_irq_work(): registers the work so the scheduler can run it. */
export function initIrqWork(x: Context | null, w: IrqWork): void {
  void x;
  w.pending = w.busy = false;
}

/** irq_work_queue(): one atomic step; false if already pending. */
export function* irqWorkQueue(x: Context, w: IrqWork): Gen<boolean> {
  x.k.touch(x, w.owner, w.field);
  x.touched = w.name;
  if (w.pending) {
    yield `irq_work_queue(&${w.field}) = false (pending)`;
    return false;
  }
  w.pending = true;
  w.cpu = x.cpu;
  x.k.pendingIrqWork.add(w);
  yield `irq_work_queue(&${w.field})`;
  return true;
}

/** irq_work_sync(): wait until the work is neither pending nor running. */
export function* irqWorkSync(x: Context, w: IrqWork): Gen<void> {
  x.k.touch(x, w.owner, w.field);
  x.touched = w.name;
  yield `irq_work_sync(&${w.field})`;
  // PREEMPT_RT sleeps in rcuwait_wait_event(); otherwise cpu_relax() spins
  yield* waitUntil(x, () => !w.pending && !w.busy, `irq_work_sync(${w.name})`, x.k.cfg.preemptRt);
}

/** The hardirq (or RT kthread) side: run a claimed work once. */
export function* runIrqWork(x: Context, w: IrqWork): Gen<void> {
  if (w.owner.freed) {
    throw new Violation('TeardownBarriers', `irq_work ${w.fnName} on cpu${x.cpu} runs on ${w.name} after teardown freed it`);
  }
  w.pending = false;
  w.busy = true;
  x.k.pendingIrqWork.delete(w);
  x.fns.push(w.fnName);
  yield* w.fn(x);
  x.fns.pop();
  w.busy = false;
}
