// The workqueue (spec/kernel/workqueue.ts): who owns a work item once a
// kworker picked it.
import { describe, expect, it } from 'vitest';
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

import { owner, steps, stepCpu, irqWork, violation, levels, startable, kinds } from './helpers.ts';

describe('kworker ownership', () => {
  it('R6/workqueue: a kworker picked by the scheduler owns its work at once: cancel_work_sync() waits for it before its first step', () => {
    const k = kernel();
    k.keepHistory = true;
    const log: string[] = [];
    const work = new Work(owner(), 'work', function* (_x) {
      log.push('work runs');
      yield 'work_fn';
    }, 'work_fn');
    drive(queueWork(ctx(k, 0), work));
    const kw = begin(k, { kind: 'kworker', cpu: 0, work })!;
    expect(work.running).toBe(kw);
    expect(work.pending).toBe(false);
    expect(kw.history).toBeNull();
    let cancelled: boolean | null = null;
    const c = start(k, 1, 'task', 'canceller', function* (x) {
      cancelled = yield* cancelWorkSync(x, work);
      log.push('cancel_work_sync returned');
      yield 'after cancel';
    });
    runCpu(k, 1, 0, c);
    // must not: cancel_work_sync() returns while the picked kworker has yet to run
    expect(c.done).toBe(false);
    expect(c.sleeping).toBe(true);
    expect(runnable(k, 1)).toBeUndefined();
    runCpu(k, 0, 0, kw);
    expect(work.running).toBeNull();
    expect(runnable(k, 1)).toBe(c);
    runCpu(k, 1, 0, c);
    expect(log).toEqual(['work runs', 'cancel_work_sync returned']);
    expect(cancelled).toBe(false);
  });

  it('workqueue: a pending work not yet picked is cancelled and cancel_work_sync() does not wait', () => {
    const k = kernel();
    const work = new Work(owner(), 'work', steps('work_fn'), 'work_fn');
    drive(queueWork(ctx(k, 0), work));
    const { value, steps: s } = drive(cancelWorkSync(ctx(k, 1), work));
    expect(value).toBe(true);
    expect(s).toEqual(['cancel_work_sync(&work): cancelled pending']);
    expect(workFor(k, 0)).toBeNull();
  });
});

// ---- irq_work's raised list ----

