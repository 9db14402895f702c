// might_sleep() (spec/kernel/might_sleep.ts): a sleeping call where the
// context may not sleep is NoSleepInAtomic; where it may, nothing.
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

// ---- mightSleep (BRIEF §1: sleeping calls) ----

describe('might_sleep', () => {
  const atomic: [string, (k: Kernel) => Context][] = [
    ['hardirq', (k) => ctx(k, 0, 'hardirq')],
    ['NMI', (k) => ctx(k, 0, 'nmi')],
    ['softirq', (k) => ctx(k, 0, 'softirq')],
    [
      'IRQs off',
      (k) => {
        const x = ctx(k);
        localIrqSave(x);
        return x;
      },
    ],
    [
      'holding a spinlock',
      (k) => {
        const x = ctx(k);
        drive(rawSpinLock(x, new RawSpinlock(owner(), 'lock')));
        return x;
      },
    ],
    [
      'preemption off',
      (k) => {
        const x = ctx(k);
        x.preemptCount++;
        return x;
      },
    ],
    [
      'inside rcu_read_lock()',
      (k) => {
        const x = ctx(k);
        rcuReadLock(x);
        return x;
      },
    ],
  ];

  it.each(atomic)('might_sleep: mutex_lock and a sleeping wait are NoSleepInAtomic in %s', (_what, make) => {
    const k = kernel();
    const m = new Mutex(owner(), 'mutex');
    const v1 = violation(() => mutexLock(make(k), m).next());
    expect(v1.invariant).toBe('NoSleepInAtomic');
    expect(v1.detail).toContain('mutex_lock(&mutex)');
    expect(m.holder).toBeNull();
    const v2 = violation(() => waitUntil(make(k), () => false, 'wait_event').next());
    expect(v2.invariant).toBe('NoSleepInAtomic');
    const v3 = violation(() => drive(synchronizeRcuExpedited(make(k))));
    expect(v3.invariant).toBe('NoSleepInAtomic');
    const x = make(k);
    const v4 = violation(() => drive(cancelWorkSync(x, new Work(owner(), 'work', steps(), 'fn'))));
    expect(v4.invariant).toBe('NoSleepInAtomic');
  });

  it('might_sleep: allowed in a plain task; a spinning wait is allowed in atomic context', () => {
    const k = kernel();
    const m = new Mutex(owner(), 'mutex');
    const x = ctx(k);
    expect(() => mightSleep(x, 'kmalloc(GFP_KERNEL)')).not.toThrow();
    drive(mutexLock(x, m));
    expect(m.holder).toBe(x);
    drive(mutexUnlock(x, m));
    const r = waitUntil(x, () => false, 'wait_event').next();
    expect(r).toEqual({ done: false, value: 'wait_event: waiting' });
    expect(x.sleeping).toBe(true);
    const h = ctx(k, 0, 'hardirq');
    expect(waitUntil(h, () => false, 'cpu_relax loop', false).next().done).toBe(false);
    expect(h.sleeping).toBe(false);
    // after rcu_read_unlock() the task may sleep again
    const y = ctx(k);
    rcuReadLock(y);
    rcuReadUnlock(y);
    expect(() => mightSleep(y, 'synchronize_rcu_expedited')).not.toThrow();
  });

  it('might_sleep: a spinlock_t under PREEMPT_RT is a sleeping lock, so its holder may sleep', () => {
    const k = kernel({ preemptRt: true });
    const x = ctx(k);
    drive(rawSpinLock(x, new RawSpinlock(owner(), 'lock', 'spinlock_t')));
    expect(() => mightSleep(x, 'mutex_lock(&mutex)')).not.toThrow();
    const k2 = kernel({ preemptRt: true });
    const y = ctx(k2);
    drive(rawSpinLock(y, new RawSpinlock(owner(), 'lock', 'raw_spinlock_t')));
    expect(violation(() => mightSleep(y, 'mutex_lock(&mutex)')).invariant).toBe('NoSleepInAtomic');
  });
});

// ---- workqueue ownership ----

