// irq_work_queue() (spec/kernel/irq_work.ts): the claim, the raised list.
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

describe('irq_work_queue() and the raised list', () => {
  it('must pass: a second irq_work_queue() while the work is pending claims nothing and queues nothing', () => {
    const k = kernel();
    const w = irqWork([]);
    expect(drive(irqWorkQueue(ctx(k, 0), w)).value).toBe(true);
    expect(drive(irqWorkQueue(ctx(k, 0), w)).value).toBe(false);
    expect(k.pendingIrqWork.has(w)).toBe(true);
  });

  it('must fail: a claim that lets a second caller through queues the node twice (NeverOnTwoLists)', () => {
    const k = kernel();
    const w = irqWork([]);
    drive(irqWorkQueue(ctx(k, 0), w));
    w.pending = false; // what an irq_work_claim() that tests the wrong flag would see
    expect(() => drive(irqWorkQueue(ctx(k, 0), w))).toThrow(expect.objectContaining({ invariant: 'NeverOnTwoLists' }));
  });
});
