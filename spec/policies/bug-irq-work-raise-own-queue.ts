// Bug zoo: seed 004's order in unit_alloc()/unit_free() (local_irq_restore()
// before irq_work_raise(), as bpf-ma models it) in a variant that brings its
// own copy of irq_work_queue(): claim the work (PENDING), then put it on
// this CPU's list. The copy keeps the kernel's window between the two, so
// a task preempted there leaves the refill claimed and on no list, and a
// preempting task's allocation fails with memory free: the finding bpf-ma
// declares (NoAllocFailureWhileRefillStalled), here not excused. The judge
// reads the cache's refill_work (claimed, not queued), not the engine's
// bookkeeping of its own primitive, so the copy is judged the same.
import { kfunc, type Context } from '../kernel/context.ts';
import type { IrqWork } from '../kernel/irq_work.ts';
import type { Gen } from '../kernel/types.ts';
import type { AnyCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** the variant's irq_work_queue(): irq_work_claim(), then the enqueue */
function* ownIrqWorkQueue(x: Context, w: IrqWork): Gen<boolean> {
  if (w.pending) {
    yield 'irq_work_claim() = false (pending)';
    return false;
  }
  w.pending = true;
  yield `irq_work_claim(&${w.field})`;
  w.queued = true;
  w.cpu = x.cpu;
  x.k.pendingIrqWork.add(w);
  yield `__irq_work_queue_local(&${w.field})`;
  return true;
}

export const irqWorkRaiseOwnQueue = kfunc('irq_work_raise', function* (x: Context, c: AnyCache): Gen<void> {
  yield* ownIrqWorkQueue(x, c.refill_work);
});

export const irqWorkRaiseOwnQueueBug = definePolicy({
  ...bpfMa,
  name: 'bug/irq-work-raise-own-queue',
  summary: "seed 004's unit_alloc()/unit_free() order with the variant's own irq_work_queue(): the stalled refill, judged from the cache's refill_work",
  findings: undefined,
  // the copy writes the irq_work outside the engine's primitives
  footprints: 'coarse',
  bug: {
    invariants: ['NoAllocFailureWhileRefillStalled', 'RefillProgress'],
    why: "a task preempted between the copy's claim and its enqueue leaves refill_work claimed and on no list; a preempting task's allocation then fails with slab room",
  },
  init: withOps({ irq_work_raise: irqWorkRaiseOwnQueue }),
});
