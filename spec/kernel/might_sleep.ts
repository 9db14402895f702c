// linux/kernel.h: might_sleep(). A sleeping call (mutex_lock, a GFP_KERNEL
// allocation, vmalloc, synchronize_*, rcu_barrier*, cancel_work_sync,
// irq_work_sync on PREEMPT_RT) is legal only where the context may sleep:
// at task level, with IRQs and preemption on, no spinlock held, outside a
// normal RCU read-side critical section (BRIEF §1). Anywhere else it is a
// NoSleepInAtomic violation, named by the call and the reason.
import { report } from './events.ts';
import { placeOf } from './types.ts';
import type { Context } from './context.ts';

/** Why x cannot sleep now, or null if it may. */
export function atomicReason(x: Context): string | null {
  if (x.level !== 'task') return `in ${x.level} context`;
  if (x.k.cpus[x.cpu]!.irqsOff) return 'with IRQs off';
  if (x.spinlocks > 0) return 'holding a spinlock';
  if (x.preemptCount > 0) return 'with preemption off';
  if (x.rcuDepth > 0) return 'inside rcu_read_lock()';
  return null;
}

export function mightSleep(x: Context, what: string): void {
  const why = atomicReason(x);
  if (why !== null) report('sleep-in-atomic', `${what} ${why}, in ${x.fn} on cpu${x.cpu} (${x.label})`, { at: placeOf(x) });
}
