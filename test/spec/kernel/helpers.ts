// Helpers of the engine's tests (spec/kernel/): owners, bodies that take
// one step per label, stepping a CPU, catching a Violation.
import { expect } from 'vitest';
import type { Context } from '../../../spec/kernel/context.ts';
import { IrqWork, irqWorkQueue } from '../../../spec/kernel/irq_work.ts';
import { localIrqRestore, localIrqSave } from '../../../spec/kernel/irqflags.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import { mightSleep } from '../../../spec/kernel/might_sleep.ts';
import { Mutex, mutexLock, mutexUnlock } from '../../../spec/kernel/mutex.ts';
import { RcuHead, callRcu, rcuReadLock, rcuReadUnlock, synchronizeRcuExpedited } from '../../../spec/kernel/rcupdate.ts';
import { begin, canStart, enabled, interruptPending, irqWorkFor, runCpu, runnable, start, step, workFor } from '../../../spec/kernel/sched.ts';
import { RawSpinlock, rawSpinLock, rawSpinLockIrqsave, rawSpinUnlock, rawSpinUnlockIrqrestore, waitUntil } from '../../../spec/kernel/spinlock.ts';
import { Violation, type Gen, type Level, type Owner } from '../../../spec/kernel/types.ts';
import { Work, cancelWorkSync, queueWork } from '../../../spec/kernel/workqueue.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

// ---- helpers ----

export const owner = (name = 'c'): Owner => ({ name, freed: false });

/** A body that takes one step per label. */
export function steps(...labels: string[]) {
  return function* (_x: Context): Gen<void> {
    for (const l of labels) yield l;
  };
}

/** Step the context the scheduler names on cpu (there must be one). */
export function stepCpu(k: Kernel, cpu: number): Context {
  const x = runnable(k, cpu);
  expect(x, `something runnable on cpu${cpu}`).toBeDefined();
  expect(step(k, x!)).toBe(true);
  return x!;
}

/** An irq_work whose handler logs that it ran (one step). */
export function irqWork(log: string[], field = 'refill_work'): IrqWork {
  return new IrqWork(owner(), field, function* (_y) {
    log.push(`irq_work ${field}`);
    yield `${field} runs`;
  }, 'bpf_mem_refill');
}

/** The Violation f throws (fails the test if it throws none or another error). */
export function violation(f: () => unknown): Violation {
  try {
    f();
  } catch (e) {
    if (e instanceof Violation) return e;
    throw e;
  }
  throw new Error('expected a Violation, none thrown');
}

export const levels: Level[] = ['task', 'softirq', 'hardirq', 'nmi'];
export const startable = (k: Kernel, cpu: number) => Object.fromEntries(levels.map((l) => [l, canStart(k, cpu, l)]));
/** The actions enabled(k) offers on cpu, by kind. */
export const kinds = (k: Kernel, cpu: number) => enabled(k).flatMap((e) => ('cpu' in e && e.cpu === cpu ? [e.kind] : []));

