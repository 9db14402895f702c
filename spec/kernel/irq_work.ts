// kernel/irq_work.c: irq_work_queue() is irq_work_claim() (atomic: set
// PENDING|BUSY, fails if already pending), then __irq_work_queue_local()
// under preempt_disable() (put it on this CPU's list, raise the self-IPI).
// Between the two the caller may be preempted: the work is pending but on
// no list, so nothing will run it until the caller comes back (the window
// of upstream commits 62cf51cb0ebe and 566f6de3cea3). Queued, it runs in
// hardirq on that CPU as soon as IRQs are on there (the self-IPI fires at
// once: spec/kernel/sched.ts, rule R8), or in a per-CPU kthread at task
// level with PREEMPT_RT; never concurrently with itself.
import type { Context } from './context.ts';
import { waitUntil } from './spinlock.ts';
import { type Gen, type Owner } from './types.ts';
import { acts, writes, report } from './events.ts';

export class IrqWork {
  /** IRQ_WORK_PENDING: claimed and not yet started */
  pending = false;
  /** on its CPU's list with the IPI raised (pending and queued) */
  queued = false;
  /** running (IRQ_WORK_BUSY after PENDING cleared) */
  busy = false;
  /** the context between irq_work_claim() and the queueing, if any */
  claimedBy: Context | null = null;
  cpu = 0;
  constructor(
    readonly owner: Owner,
    readonly field: string,
    readonly fn: (x: Context) => Gen<void>,
    readonly fnName: string,
  ) {}
  private ownerName: string | null = null;
  private fullName = '';
  /** `owner.field`, cached (read on every step that touches it) */
  get name(): string {
    if (this.ownerName !== this.owner.name) {
      this.ownerName = this.owner.name;
      this.fullName = `${this.ownerName}.${this.field}`;
    }
    return this.fullName;
  }
}

/** init_irq_work(): registers the work so the scheduler can run it. */
export function initIrqWork(x: Context | null, w: IrqWork): void {
  void x;
  w.pending = w.busy = w.queued = false;
  w.claimedBy = null;
}

/** irq_work_queue(): two steps, irq_work_claim() then the queueing and
 *  self-IPI; false (one step) if the work was already pending. */
export function* irqWorkQueue(x: Context, w: IrqWork): Gen<boolean> {
  const k = x.k;
  k.touch(x, w.owner, w.field);
  acts(x, 'irq_work_claim', w, false);
  if (w.pending) {
    yield x.k.labels ? `irq_work_claim(&${w.field}) = false (pending)` : '';
    return false;
  }
  w.pending = true;
  w.claimedBy = x;
  k.claimedIrqWork.add(w);
  writes(x, w);
  yield x.k.labels ? `irq_work_claim(&${w.field})` : '';
  // preempt_disable(); __irq_work_queue_local(work); preempt_enable();
  k.touch(x, w.owner, w.field);
  acts(x, '__irq_work_queue_local', w, true);
  w.claimedBy = null;
  k.claimedIrqWork.delete(w);
  // llist_add() of a node that is already on the raised list corrupts the
  // list (it points at itself, or the entries after it are lost). A correct
  // irq_work_claim() never lets two callers here: a set of pending works
  // would hide it, so it is judged
  if (w.queued) report('on-two-lists', `__irq_work_queue_local(&${w.field}) on cpu${x.cpu}: ${w.name} is already on cpu${w.cpu}'s raised list (claimed twice)`);
  w.queued = true;
  w.cpu = x.cpu;
  k.pendingIrqWork.add(w);
  yield x.k.labels ? `__irq_work_queue_local(&${w.field}): ${k.cfg.preemptRt ? 'wake irq_work kthread' : 'raise self-IPI'}` : '';
  return true;
}

/** irq_work_sync(): wait until the work is neither pending nor running. */
export function* irqWorkSync(x: Context, w: IrqWork): Gen<void> {
  x.k.touch(x, w.owner, w.field);
  acts(x, 'irq_work_sync', w, false);
  yield x.k.labels ? `irq_work_sync(&${w.field})` : '';
  // PREEMPT_RT sleeps in rcuwait_wait_event(); otherwise cpu_relax() spins
  yield* waitUntil(x, () => !w.pending && !w.busy, `irq_work_sync(${w.name})`, x.k.cfg.preemptRt, w);
}

/** The hardirq (or RT kthread) side: run a queued work once. The
 *  scheduler took it off the pending list when it started this context
 *  (spec/kernel/sched.ts); a direct caller has it done here. */
export function* runIrqWork(x: Context, w: IrqWork): Gen<void> {
  if (w.owner.freed) {
    report('teardown-touch', `irq_work ${w.fnName} on cpu${x.cpu} runs on ${w.name} after teardown freed it`);
  }
  // the first step of the handler took it off the pending list (the
  // scheduler did, as it started this context; a direct caller has it
  // done here)
  writes(x, w);
  if (!w.busy) {
    w.pending = false;
    w.queued = false;
    w.busy = true;
    x.k.pendingIrqWork.delete(w);
  }
  x.fns.push(w.fnName);
  yield* w.fn(x);
  x.fns.pop();
  w.busy = false;
  writes(x, w);
}
