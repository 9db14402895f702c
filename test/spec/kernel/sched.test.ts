// The execution rules of spec/kernel/sched.ts (BRIEF §1), one describe per
// rule R1..R9. Each rule has a "must not be allowed" case, which fails if the
// engine lets the forbidden thing happen, and a "must be allowed" control,
// which fails if the engine forbids too much. Contexts run small generator
// bodies written here; a body only advances when the test steps it.
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

// ---- R1 ----

describe('R1 top only', () => {
  it('R1 top only: a context interrupted by a hardirq does not step until the hardirq returns', () => {
    const k = kernel();
    k.keepHistory = true;
    const a = start(k, 0, 'task', 'prog0', steps('a1', 'a2', 'a3'));
    stepCpu(k, 0);
    expect(canStart(k, 0, 'hardirq')).toBe(true);
    const h = start(k, 0, 'hardirq', 'irq0', steps('h1', 'h2'));
    // must not: the task beneath runs while the hardirq is on top
    expect(runnable(k, 0)).toBe(h);
    expect(enabled(k).filter((e) => e.kind === 'step' && e.cpu === 0)).toHaveLength(1);
    stepCpu(k, 0);
    stepCpu(k, 0);
    expect(a.history).toEqual(['a1']);
    expect(h.history).toEqual(['h1', 'h2']);
    stepCpu(k, 0); // the hardirq returns
    expect(h.done).toBe(true);
    expect(k.cpus[0]!.irqsOff).toBe(false);
    // must be allowed: the interrupted task resumes once it is the top
    expect(runnable(k, 0)).toBe(a);
    stepCpu(k, 0);
    expect(a.history).toEqual(['a1', 'a2']);
  });

  it('R1 top only: a preempted task waits under the task that preempted it; another CPU is unaffected', () => {
    const k = kernel();
    k.keepHistory = true;
    const a = start(k, 0, 'task', 'prog0', steps('a1', 'a2'));
    stepCpu(k, 0);
    const b = start(k, 0, 'task', 'prog1', steps('b1'));
    const c = start(k, 1, 'task', 'prog2', steps('c1'));
    expect(runnable(k, 0)).toBe(b);
    expect(runnable(k, 1)).toBe(c);
    runCpu(k, 0, 1);
    expect(a.history).toEqual(['a1']);
    expect(b.history).toEqual(['b1']);
    runCpu(k, 0, 1); // b returns
    expect(b.done).toBe(true);
    expect(runnable(k, 0)).toBe(a);
    expect(c.history).toBeNull(); // cpu1 took no step
  });

  it('R1 top only: runCpu(target) runs the contexts above its target as part of it, never the task beneath', () => {
    const k = kernel();
    k.keepHistory = true;
    const a = start(k, 0, 'task', 'prog0', steps('a1'));
    const b = start(k, 0, 'task', 'prog1', steps('b1', 'b2'));
    const n = start(k, 0, 'nmi', 'nmi0', steps('n1'));
    runCpu(k, 0, 0, b);
    expect(n.done).toBe(true);
    expect(b.done).toBe(true);
    expect(a.history).toBeNull();
  });
});

// ---- R2 ----

describe('R2 IRQs off', () => {
  function irqsOffTask(k: Kernel) {
    return start(k, 0, 'task', 'prog0', function* (x) {
      const flags = localIrqSave(x);
      yield 'local_irq_save(flags)';
      yield 'critical section';
      yield* localIrqRestore(x, flags);
      yield 'after';
    });
  }

  it('R2 IRQs off: no hardirq, softirq or new task starts on a CPU whose IRQs are off; an NMI may', () => {
    const k = kernel();
    const a = irqsOffTask(k);
    stepCpu(k, 0);
    expect(k.cpus[0]!.irqsOff).toBe(true);
    expect(startable(k, 0)).toEqual({ task: false, softirq: false, hardirq: false, nmi: true });
    // the other CPU's IRQs are its own
    expect(startable(k, 1)).toEqual({ task: true, softirq: true, hardirq: true, nmi: true });
    stepCpu(k, 0);
    expect(runnable(k, 0)).toBe(a);
    stepCpu(k, 0); // local_irq_restore
    expect(k.cpus[0]!.irqsOff).toBe(false);
    // must be allowed once IRQs are back on
    expect(startable(k, 0)).toEqual({ task: true, softirq: true, hardirq: true, nmi: true });
  });

  it('R2 IRQs off: a queued irq_work and a ready RCU callback wait until the CPU re-enables IRQs', () => {
    const k = kernel();
    const log: string[] = [];
    const w = irqWork(log);
    drive(irqWorkQueue(ctx(k, 1), w)); // queued on cpu1
    const head = new RcuHead(owner());
    drive(callRcu(ctx(k, 1), head, steps('cb'), 'cb'));
    k.rcu.endGp('rcu');
    expect(k.rcu.hasReady(1)).toBe(true);
    const a = start(k, 1, 'task', 'prog0', function* (x) {
      const flags = localIrqSave(x);
      yield 'local_irq_save(flags)';
      yield* localIrqRestore(x, flags);
      yield 'after';
    });
    // the queued irq_work fires before prog0's first step: IRQs are on
    expect(interruptPending(k, 1)).toBe(w);
    expect(runnable(k, 1)).toBeUndefined();
    // take the irq_work, then let prog0 turn IRQs off, with a second one queued
    runCpu(k, 1, 1);
    expect(log).toEqual(['irq_work refill_work']);
    const w2 = irqWork(log, 'refill_work2');
    runCpu(k, 1, 1); // returns from the hardirq
    runCpu(k, 1, 1); // prog0: local_irq_save
    expect(k.cpus[1]!.irqsOff).toBe(true);
    drive(irqWorkQueue(ctx(k, 1), w2));
    // must not: an interrupt or softirq on a CPU with IRQs off
    expect(interruptPending(k, 1)).toBeNull();
    expect(runnable(k, 1)).toBe(a);
    expect(kinds(k, 1)).toEqual(['step']);
    stepCpu(k, 1); // local_irq_restore
    // must be allowed: now the irq_work is taken first, then the softirq may run
    expect(interruptPending(k, 1)).toBe(w2);
    expect(kinds(k, 1)).toEqual(['irq']);
    runCpu(k, 1, 2); // irq_work2 runs and returns
    expect(log).toEqual(['irq_work refill_work', 'irq_work refill_work2']);
    expect(kinds(k, 1)).toEqual(['step', 'softirq']);
  });
});

// ---- R3 ----

describe('R3 preemption off', () => {
  it('R3 preemption off: no task preempts a task holding a raw spinlock; it may once the lock is dropped', () => {
    const k = kernel();
    const l = new RawSpinlock(owner(), 'lock');
    start(k, 0, 'task', 'prog0', function* (x) {
      yield* rawSpinLock(x, l);
      yield 'critical section';
      yield* rawSpinUnlock(x, l);
      yield 'after';
    });
    stepCpu(k, 0);
    expect(l.holder?.label).toBe('prog0');
    expect(canStart(k, 0, 'task')).toBe(false);
    // a plain raw_spin_lock leaves IRQs on: an interrupt may come
    expect(canStart(k, 0, 'hardirq')).toBe(true);
    expect(canStart(k, 0, 'softirq')).toBe(true);
    stepCpu(k, 0);
    expect(canStart(k, 0, 'task')).toBe(false);
    stepCpu(k, 0); // raw_spin_unlock
    expect(canStart(k, 0, 'task')).toBe(true);
  });

  it('R3 preemption off: no task preempts a task with preemption disabled (preempt_disable nesting)', () => {
    const k = kernel();
    start(k, 0, 'task', 'prog0', function* (x) {
      x.preemptCount++;
      yield 'preempt_disable()';
      x.preemptCount--;
      yield 'preempt_enable()';
      yield 'after';
    });
    expect(canStart(k, 0, 'task')).toBe(true);
    stepCpu(k, 0);
    expect(canStart(k, 0, 'task')).toBe(false);
    expect(canStart(k, 0, 'hardirq')).toBe(true);
    stepCpu(k, 0);
    expect(canStart(k, 0, 'task')).toBe(true);
  });

  it('R3 preemption off: no task preempts a softirq or a hardirq (tasks start over tasks only)', () => {
    const k = kernel();
    start(k, 0, 'softirq', 'softirq0', steps('s1'));
    expect(canStart(k, 0, 'task')).toBe(false);
    expect(canStart(k, 0, 'softirq')).toBe(false);
    expect(canStart(k, 0, 'hardirq')).toBe(true);
    start(k, 0, 'hardirq', 'irq0', steps('h1'));
    expect(canStart(k, 0, 'task')).toBe(false);
    expect(canStart(k, 0, 'hardirq')).toBe(false);
  });

  it('R3 preemption off: raw_spinlock_t pins preemption with and without PREEMPT_RT; spinlock_t only without it', () => {
    const cases = [
      { kind: 'raw_spinlock_t', preemptRt: false, preemptible: false },
      { kind: 'raw_spinlock_t', preemptRt: true, preemptible: false },
      { kind: 'spinlock_t', preemptRt: false, preemptible: false },
      { kind: 'spinlock_t', preemptRt: true, preemptible: true },
    ] as const;
    for (const c of cases) {
      const k = kernel({ preemptRt: c.preemptRt });
      const l = new RawSpinlock(owner(), 'lock', c.kind);
      start(k, 0, 'task', 'holder', function* (x) {
        yield* rawSpinLock(x, l);
        yield 'critical section';
        yield* rawSpinUnlock(x, l);
      });
      stepCpu(k, 0);
      expect(l.holder?.label).toBe('holder');
      expect({ ...c, canStartTask: canStart(k, 0, 'task') }).toEqual({ ...c, canStartTask: c.preemptible });
      stepCpu(k, 0);
      stepCpu(k, 0); // unlock
      expect(canStart(k, 0, 'task')).toBe(true);
    }
  });

  // In the kernel raw_spin_lock() is preempt_disable() followed by the spin,
  // so a task spinning on a lock held on another CPU cannot be preempted.
  it('R3 preemption off: a task spinning in raw_spin_lock() has preemption off already', () => {
    const k = kernel();
    const l = new RawSpinlock(owner(), 'lock');
    start(k, 1, 'task', 'holder', function* (x) {
      yield* rawSpinLock(x, l);
      yield 'critical section';
    });
    stepCpu(k, 1);
    const a = start(k, 0, 'task', 'spinner', function* (x) {
      yield* rawSpinLock(x, l);
    });
    stepCpu(k, 0);
    expect(a.waitFor).not.toBeNull(); // spinning
    expect(canStart(k, 0, 'task')).toBe(false);
  });
});

// ---- R4 ----

describe('R4 NMI', () => {
  it('R4 NMI: an NMI may start at every atomic step, with IRQs off, under a spinlock and over a hardirq', () => {
    const k = kernel();
    const l = new RawSpinlock(owner(), 'lock');
    start(k, 0, 'task', 'prog0', function* (x) {
      const flags = yield* rawSpinLockIrqsave(x, l);
      yield 'critical section';
      yield* rawSpinUnlockIrqrestore(x, l, flags);
      yield 'after';
    });
    let n = 0;
    while (runnable(k, 0)) {
      expect(canStart(k, 0, 'nmi')).toBe(true);
      stepCpu(k, 0);
      n++;
    }
    expect(n).toBe(6); // lock, section, unlock, restore, after, return
    start(k, 0, 'task', 'prog1', steps('t1'));
    start(k, 0, 'hardirq', 'irq0', steps('h1'));
    expect(canStart(k, 0, 'nmi')).toBe(true);
  });

  it('R4 NMI: NMIs do not nest; the NMI runs to completion before what it interrupted resumes', () => {
    const k = kernel();
    k.keepHistory = true;
    const a = start(k, 0, 'task', 'prog0', function* (x) {
      const flags = localIrqSave(x);
      yield 'local_irq_save(flags)';
      yield* localIrqRestore(x, flags);
    });
    stepCpu(k, 0);
    const nmi = start(k, 0, 'nmi', 'nmi0', steps('n1', 'n2'));
    // must not: a second NMI on the same CPU
    expect(canStart(k, 0, 'nmi')).toBe(false);
    // must be allowed: an NMI on another CPU
    expect(canStart(k, 1, 'nmi')).toBe(true);
    expect(runnable(k, 0)).toBe(nmi);
    stepCpu(k, 0);
    expect(runnable(k, 0)).toBe(nmi);
    stepCpu(k, 0);
    stepCpu(k, 0); // returns
    expect(nmi.done).toBe(true);
    expect(a.history).toEqual(['local_irq_save(flags)']);
    expect(runnable(k, 0)).toBe(a);
    expect(canStart(k, 0, 'nmi')).toBe(true);
  });

  it('R4 NMI: an irq_work an NMI queues fires after the NMI returns, not inside it', () => {
    const k = kernel();
    const log: string[] = [];
    const w = irqWork(log);
    start(k, 0, 'task', 'prog0', function* (_x) {
      log.push('prog0 resumes');
      yield 'prog0';
    });
    const nmi = start(k, 0, 'nmi', 'nmi0', function* (x) {
      yield* irqWorkQueue(x, w);
      log.push('nmi0 last step');
      yield 'nmi0 last step';
    });
    stepCpu(k, 0);
    stepCpu(k, 0);
    expect(w.queued).toBe(true);
    expect(interruptPending(k, 0)).toBeNull(); // the NMI is on top
    expect(runnable(k, 0)).toBe(nmi);
    stepCpu(k, 0);
    stepCpu(k, 0); // nmi0 returns
    expect(interruptPending(k, 0)).toBe(w);
    runCpu(k, 0, 0);
    expect(log).toEqual(['nmi0 last step', 'irq_work refill_work', 'prog0 resumes']);
  });
});

// ---- R5 ----

describe('R5 sleeping waits', () => {
  it('R5 sleeping waits: below a task sleeping on a mutex the task it preempted (the holder) runs on', () => {
    const k = kernel();
    k.keepHistory = true;
    const m = new Mutex(owner(), 'mutex');
    const a = start(k, 0, 'task', 'holder', function* (x) {
      yield* mutexLock(x, m);
      yield 'critical section';
      yield* mutexUnlock(x, m);
      yield 'after';
    });
    stepCpu(k, 0); // mutex_lock
    expect(canStart(k, 0, 'task')).toBe(true);
    const b = start(k, 0, 'task', 'waiter', function* (x) {
      yield* mutexLock(x, m);
      yield* mutexUnlock(x, m);
    });
    stepCpu(k, 0);
    expect(b.sleeping).toBe(true);
    // must be allowed: the holder beneath runs while the waiter sleeps
    expect(runnable(k, 0)).toBe(a);
    stepCpu(k, 0);
    expect(a.history).toEqual(['mutex_lock(&mutex)', 'critical section']);
    expect(b.history).toEqual(['mutex_lock(&mutex): waiting']);
  });

  it('R5 sleeping waits: a spinning wait does not let the task beneath run', () => {
    const k = kernel();
    k.keepHistory = true;
    const l = new RawSpinlock(owner(), 'lock');
    start(k, 1, 'task', 'holder', function* (x) {
      yield* rawSpinLock(x, l);
      yield 'critical section';
      yield* rawSpinUnlock(x, l);
    });
    stepCpu(k, 1);
    const a = start(k, 0, 'task', 'prog0', steps('a1'));
    const b = start(k, 0, 'task', 'spinner', function* (x) {
      yield* rawSpinLock(x, l);
      yield* rawSpinUnlock(x, l);
    });
    stepCpu(k, 0);
    expect(b.sleeping).toBe(false);
    // must not: prog0 beneath the spinner runs
    expect(runnable(k, 0)).toBeUndefined();
    expect(runCpu(k, 0, 5)).toBe(0);
    expect(a.history).toBeNull();
    // a spinning wait on a condition (cpu_relax loop) is the same
    let flag = false;
    const k2 = kernel();
    const a2 = start(k2, 0, 'task', 'prog0', steps('a1'));
    start(k2, 0, 'task', 'spinner', function* (x) {
      yield* waitUntil(x, () => flag, 'cpu_relax loop', false);
    });
    stepCpu(k2, 0);
    expect(runnable(k2, 0)).toBeUndefined();
    // the same wait, sleeping: prog0 runs
    const k3 = kernel();
    const a3 = start(k3, 0, 'task', 'prog0', steps('a1'));
    start(k3, 0, 'task', 'sleeper', function* (x) {
      yield* waitUntil(x, () => flag, 'wait_event', true);
    });
    stepCpu(k3, 0);
    expect(runnable(k3, 0)).toBe(a3);
    flag = true;
    expect(runnable(k2, 0)?.label).toBe('spinner');
    expect(a2.done).toBe(false);
  });

  it('R5 sleeping waits: a task may start over a sleeping task only where the task beneath it may be preempted', () => {
    const k = kernel({ maxTaskNesting: 3 });
    const l = new RawSpinlock(owner(), 'lock');
    start(k, 0, 'task', 'prog0', function* (x) {
      yield 'before';
      yield* rawSpinLock(x, l);
      yield* rawSpinUnlock(x, l);
    });
    stepCpu(k, 0);
    start(k, 0, 'task', 'sleeper', function* (x) {
      yield* waitUntil(x, () => false, 'wait_event');
    });
    stepCpu(k, 0);
    expect(canStart(k, 0, 'task')).toBe(true); // prog0 preemptible
    stepCpu(k, 0); // prog0 takes the lock, running beneath the sleeper
    expect(l.holder?.label).toBe('prog0');
    expect(canStart(k, 0, 'task')).toBe(false);
  });
});

// ---- R6 ----

describe('R6 wake-up', () => {
  it('R6 wake-up (issue 9 item 2): a kworker woken from synchronize_rcu_expedited() does not run over a program with IRQs off and active held', () => {
    const k = kernel();
    const log: string[] = [];
    let active = 0; // the cache's `active`, held by unit_alloc()
    const work = new Work(owner(), 'work', function* (x) {
      yield* synchronizeRcuExpedited(x);
      // what a kworker that touches the cache would check
      log.push(`kworker sees active=${active}`);
      if (active !== 0) throw new Violation('NoKernelWarn', 'WARN_ON_ONCE(active) in a kworker: the scheduler ran it over unit_alloc()');
      yield 'kworker after synchronize_rcu_expedited()';
    }, 'work_fn');
    const prog = start(k, 0, 'task', 'prog0', function* (x) {
      yield 'bpf prog starts';
      rcuReadLock(x);
      const flags = localIrqSave(x);
      active++;
      yield 'unit_alloc: local_irq_save(flags); local_inc_return(&active) = 1';
      yield 'unit_alloc: __llist_del_first';
      active--;
      yield* localIrqRestore(x, flags);
      log.push('prog0 restored IRQs');
      rcuReadUnlock(x);
      yield 'bpf prog ends';
    });
    stepCpu(k, 0);
    drive(queueWork(ctx(k, 0), work));
    expect(workFor(k, 0)).toBe(work);
    const kw = begin(k, { kind: 'kworker', cpu: 0, work })!;
    stepCpu(k, 0); // synchronize_rcu_expedited(): queues its wake-up
    stepCpu(k, 0); // waiting
    expect(kw.sleeping).toBe(true);
    expect(runnable(k, 0)).toBe(prog); // R5: prog0 runs below the sleeper
    stepCpu(k, 0); // unit_alloc: IRQs off, active = 1 (the GP started before this reader)
    expect(active).toBe(1);
    expect(k.rcu.canEndGp('rcu')).toBe(true);
    k.rcu.endGp('rcu'); // wakes the kworker
    expect(kw.runnable).toBe(true);
    // must not: the woken kworker runs while prog0 has IRQs off
    expect(runnable(k, 0)).toBe(prog);
    expect(enabled(k).find((e) => e.kind === 'step' && e.cpu === 0)).toBeDefined();
    expect(begin(k, { kind: 'step', cpu: 0 })).toBe(prog);
    stepCpu(k, 0); // __llist_del_first
    expect(runnable(k, 0)).toBe(prog);
    stepCpu(k, 0); // local_irq_restore: IRQs on, active = 0
    // must be allowed: with IRQs back on, the woken kworker preempts prog0
    expect(runnable(k, 0)).toBe(kw);
    runCpu(k, 0, 0, kw);
    expect(kw.done).toBe(true);
    expect(log).toEqual(['kworker sees active=0']);
    runCpu(k, 0, 0, prog);
    expect(log).toEqual(['kworker sees active=0', 'prog0 restored IRQs']);
  });

  it('R6 wake-up: a woken task does not resume over a task holding a spinlock or with preemption off', () => {
    for (const how of ['spinlock', 'preempt_disable'] as const) {
      const k = kernel();
      const l = new RawSpinlock(owner(), 'lock');
      let go = false;
      const a = start(k, 0, 'task', 'prog0', function* (x) {
        yield 'before';
        if (how === 'spinlock') yield* rawSpinLock(x, l);
        else {
          x.preemptCount++;
          yield 'preempt_disable()';
        }
        yield 'section';
        if (how === 'spinlock') yield* rawSpinUnlock(x, l);
        else {
          x.preemptCount--;
          yield 'preempt_enable()';
        }
        yield 'after';
      });
      stepCpu(k, 0);
      const b = start(k, 0, 'task', 'sleeper', function* (x) {
        yield* waitUntil(x, () => go, 'wait_event');
        yield 'woken';
      });
      stepCpu(k, 0);
      stepCpu(k, 0); // prog0: lock / preempt_disable
      go = true;
      expect(b.runnable).toBe(true);
      expect(runnable(k, 0), how).toBe(a);
      stepCpu(k, 0); // section
      expect(runnable(k, 0), how).toBe(a);
      stepCpu(k, 0); // unlock / preempt_enable
      expect(runnable(k, 0), how).toBe(b);
    }
  });

  it('R6 wake-up: a woken task with nothing non-preemptible beneath it resumes at once', () => {
    const k = kernel();
    let go = false;
    const b = start(k, 0, 'task', 'sleeper', function* (x) {
      yield* waitUntil(x, () => go, 'wait_event');
      yield 'woken';
    });
    stepCpu(k, 0);
    expect(runnable(k, 0)).toBeUndefined();
    go = true;
    expect(runnable(k, 0)).toBe(b);
  });
});

// ---- R7 ----

describe('R7 RT kthreads', () => {
  it('R7 RT kthreads: with PREEMPT_RT a queued irq_work is no interrupt: it runs as a task, and a task may preempt it', () => {
    const k = kernel({ preemptRt: true });
    const log: string[] = [];
    const w = new IrqWork(owner(), 'refill_work', function* (_y) {
      log.push('irq_work starts');
      yield 'alloc_bulk: first';
      log.push('irq_work ends');
      yield 'alloc_bulk: last';
    }, 'bpf_mem_refill');
    const a = start(k, 0, 'task', 'prog0', function* (x) {
      yield* irqWorkQueue(x, w);
      yield 'prog0 goes on';
    });
    stepCpu(k, 0);
    stepCpu(k, 0);
    expect(w.queued).toBe(true);
    // no R8 interrupt: prog0 keeps running
    expect(interruptPending(k, 0)).toBeNull();
    expect(runnable(k, 0)).toBe(a);
    runCpu(k, 0, 0, a);
    expect(a.done).toBe(true);
    expect(log).toEqual([]);
    expect(irqWorkFor(k, 0)).toBe(w);
    expect(enabled(k)).toContainEqual({ kind: 'irq', cpu: 0, work: w });
    const kt = begin(k, { kind: 'irq', cpu: 0, work: w })!;
    expect(kt.level).toBe('task');
    stepCpu(k, 0);
    // must be allowed: a BPF program preempts the kthread mid-way
    expect(canStart(k, 0, 'task')).toBe(true);
    const p = start(k, 0, 'task', 'prog1', steps('p1'));
    expect(runnable(k, 0)).toBe(p);
    runCpu(k, 0, 0, p);
    runCpu(k, 0, 0, kt);
    expect(log).toEqual(['irq_work starts', 'irq_work ends']);
  });

  it('R7 RT kthreads: the RT irq_work kthread obeys R3: not over a task holding a raw spinlock, and not preempted while holding one', () => {
    const k = kernel({ preemptRt: true });
    const log: string[] = [];
    const l = new RawSpinlock(owner(), 'lock');
    const w = new IrqWork(owner(), 'refill_work', function* (y) {
      yield* rawSpinLock(y, l);
      log.push('irq_work holds lock');
      yield 'section';
      yield* rawSpinUnlock(y, l);
    }, 'bpf_mem_refill');
    const a = start(k, 0, 'task', 'prog0', function* (x) {
      yield* rawSpinLock(x, l);
      yield* irqWorkQueue(x, w);
      yield* rawSpinUnlock(x, l);
    });
    stepCpu(k, 0);
    stepCpu(k, 0);
    stepCpu(k, 0);
    expect(w.queued).toBe(true);
    // must not: the kthread preempts a task holding a raw spinlock
    expect(irqWorkFor(k, 0)).toBeNull();
    expect(enabled(k).some((e) => e.kind === 'irq')).toBe(false);
    stepCpu(k, 0); // unlock
    expect(irqWorkFor(k, 0)).toBe(w);
    runCpu(k, 0, 0, a);
    const kt = begin(k, { kind: 'irq', cpu: 0, work: w })!;
    stepCpu(k, 0); // the kthread takes the lock
    expect(l.holder).toBe(kt);
    expect(canStart(k, 0, 'task')).toBe(false);
    runCpu(k, 0, 0, kt);
    expect(kt.done).toBe(true);
  });

  it('R7 RT kthreads: without PREEMPT_RT the same irq_work runs in hardirq and no task starts over it', () => {
    const k = kernel();
    const log: string[] = [];
    const w = irqWork(log);
    drive(irqWorkQueue(ctx(k, 0), w));
    const h = begin(k, { kind: 'irq', cpu: 0, work: w })!;
    expect(h.level).toBe('hardirq');
    expect(k.cpus[0]!.irqsOff).toBe(true);
    expect(canStart(k, 0, 'task')).toBe(false);
    runCpu(k, 0, 0, h);
    expect(k.cpus[0]!.irqsOff).toBe(false);
  });
});

// ---- R8 ----

describe('R8 IPI fires at once', () => {
  it('R8 IPI: irq_work_queue is two steps; a task may preempt between irq_work_claim and __irq_work_queue_local', () => {
    const k = kernel();
    const log: string[] = [];
    const w = irqWork(log);
    let second: boolean | null = null;
    const a = start(k, 0, 'task', 'prog0', function* (x) {
      yield* irqWorkQueue(x, w);
      yield 'prog0 after irq_work_queue';
    });
    stepCpu(k, 0); // irq_work_claim
    expect(w.pending).toBe(true);
    expect(w.queued).toBe(false);
    expect(w.claimedBy).toBe(a);
    expect(k.claimedIrqWork.has(w)).toBe(true);
    expect(k.pendingIrqWork.size).toBe(0);
    expect(interruptPending(k, 0)).toBeNull(); // claimed, on no list: nothing fires
    // must be allowed: the window
    expect(canStart(k, 0, 'task')).toBe(true);
    const p = start(k, 0, 'task', 'prog1', function* (x) {
      second = yield* irqWorkQueue(x, w);
    });
    runCpu(k, 0, 0, p);
    expect(second).toBe(false); // the preempting task finds it pending
    expect(log).toEqual([]); // and nothing ran it
    stepCpu(k, 0); // __irq_work_queue_local
    expect(w.queued).toBe(true);
    expect(interruptPending(k, 0)).toBe(w);
    runCpu(k, 0, 0, a);
    expect(log).toEqual(['irq_work refill_work']);
  });

  it('R8 IPI: with IRQs off nothing but an NMI starts between irq_work_claim and the queueing', () => {
    const k = kernel();
    const w = irqWork([]);
    start(k, 0, 'task', 'prog0', function* (x) {
      const flags = localIrqSave(x);
      yield* irqWorkQueue(x, w);
      yield* localIrqRestore(x, flags);
    });
    stepCpu(k, 0); // irq_work_claim
    expect(w.claimedBy?.label).toBe('prog0');
    expect(startable(k, 0)).toEqual({ task: false, softirq: false, hardirq: false, nmi: true });
  });

  it('R8 IPI: a queued irq_work on a CPU with IRQs on is the only thing but an NMI that runs there', () => {
    const k = kernel();
    const log: string[] = [];
    const w = irqWork(log);
    const a = start(k, 0, 'task', 'prog0', steps('a1', 'a2'));
    drive(irqWorkQueue(ctx(k, 0), w));
    expect(interruptPending(k, 0)).toBe(w);
    expect(runnable(k, 0)).toBeUndefined();
    expect(canStart(k, 0, 'task')).toBe(false);
    expect(canStart(k, 0, 'softirq')).toBe(false);
    expect(canStart(k, 0, 'nmi')).toBe(true);
    expect(kinds(k, 0)).toEqual(['irq']);
    expect(enabled(k)).toContainEqual({ kind: 'irq', cpu: 0, work: w });
    // cpu1 is not affected
    expect(interruptPending(k, 1)).toBeNull();
    expect(canStart(k, 1, 'task')).toBe(true);
    // an NMI may still come, and while it runs the irq_work waits
    const n = start(k, 0, 'nmi', 'nmi0', steps('n1'));
    expect(interruptPending(k, 0)).toBeNull();
    expect(runnable(k, 0)).toBe(n);
    runCpu(k, 0, 0, n);
    expect(runnable(k, 0)).toBeUndefined();
    runCpu(k, 0, 1); // the hardirq starts and takes its step
    expect(log).toEqual(['irq_work refill_work']);
    runCpu(k, 0, 1); // returns
    expect(runnable(k, 0)).toBe(a);
  });

  it('R8 IPI: after local_irq_restore() (a step of its own) the pending irq_work fires before the next step', () => {
    const k = kernel();
    const log: string[] = [];
    const w = irqWork(log);
    const a = start(k, 0, 'task', 'prog0', function* (x) {
      const flags = localIrqSave(x);
      yield* irqWorkQueue(x, w);
      yield 'irq_work_raise done, IRQs still off';
      yield* localIrqRestore(x, flags);
      log.push('prog0 after local_irq_restore');
      yield 'prog0 next step';
    });
    stepCpu(k, 0);
    stepCpu(k, 0);
    expect(w.queued).toBe(true);
    // must not: the IPI fires while IRQs are off
    expect(interruptPending(k, 0)).toBeNull();
    expect(runnable(k, 0)).toBe(a);
    stepCpu(k, 0);
    stepCpu(k, 0); // local_irq_restore(flags): IRQs on
    expect(k.cpus[0]!.irqsOff).toBe(false);
    expect(log).toEqual([]); // the restore was a step of its own
    expect(interruptPending(k, 0)).toBe(w);
    expect(runnable(k, 0)).toBeUndefined();
    // must be allowed: the IPI fires at once, before prog0's next step
    runCpu(k, 0, 0, a);
    expect(log).toEqual(['irq_work refill_work', 'prog0 after local_irq_restore']);
    expect(a.done).toBe(true);
  });

  it('R8 IPI: local_irq_restore() to IRQs still off (nested save) fires nothing', () => {
    const k = kernel();
    const log: string[] = [];
    const w = irqWork(log);
    const a = start(k, 0, 'task', 'prog0', function* (x) {
      const outer = localIrqSave(x);
      const inner = localIrqSave(x);
      yield* irqWorkQueue(x, w);
      yield* localIrqRestore(x, inner);
      log.push('prog0 inner restore done');
      yield* localIrqRestore(x, outer);
      log.push('prog0 outer restore done');
      yield 'end';
    });
    runCpu(k, 0, 3); // claim, queue, inner restore
    expect(k.cpus[0]!.irqsOff).toBe(true);
    expect(interruptPending(k, 0)).toBeNull();
    runCpu(k, 0, 0, a);
    expect(log).toEqual(['prog0 inner restore done', 'irq_work refill_work', 'prog0 outer restore done']);
  });
});

// ---- R9 ----

describe('R9 hotplug', () => {
  it('R9 hotplug: nothing new starts on an offline CPU; its pending work and ready callbacks run elsewhere', () => {
    const k = kernel();
    const log: string[] = [];
    const work = new Work(owner(), 'work', function* (_x) {
      log.push('work');
      yield 'work_fn';
    }, 'work_fn');
    drive(queueWork(ctx(k, 1), work));
    drive(callRcu(ctx(k, 1), new RcuHead(owner()), steps('cb'), 'cb'));
    k.rcu.endGp('rcu');
    k.cpus[1]!.online = false;
    // must not: anything starts on cpu1
    expect(startable(k, 1)).toEqual({ task: false, softirq: false, hardirq: false, nmi: false });
    expect(workFor(k, 1)).toBeNull();
    expect(kinds(k, 1)).toEqual([]);
    // must be allowed: cpu0 takes over
    expect(workFor(k, 0)).toBe(work);
    expect(kinds(k, 0)).toEqual(['softirq', 'kworker']);
    const kw = begin(k, { kind: 'kworker', cpu: 0, work })!;
    expect(kw.cpu).toBe(0);
    runCpu(k, 0, 0, kw);
    expect(log).toEqual(['work']);
  });

  it('R9 hotplug: back online, the CPU starts contexts again and its own work stays on it', () => {
    const k = kernel();
    k.cpus[1]!.online = false;
    k.cpus[1]!.online = true;
    expect(startable(k, 1)).toEqual({ task: true, softirq: true, hardirq: true, nmi: true });
    const work = new Work(owner(), 'work', steps('work_fn'), 'work_fn');
    drive(queueWork(ctx(k, 1), work));
    expect(workFor(k, 0)).toBeNull();
    expect(workFor(k, 1)).toBe(work);
  });
});
