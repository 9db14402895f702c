// The engine rules the sheaves family added, each with a must-fail and a
// must-pass case: local_trylock_t (!RT and RT), spinlock_t under RT,
// allow_spin = false sections judged at the acquire, the trylock retry
// bound, irq_work_queue_on(), queue_work_on()/flush_work(), the NUMA
// topology.
import { describe, expect, it } from 'vitest';
import type { Context } from '../../../spec/kernel/context.ts';
import { irqWorkQueue, IrqWork, initIrqWork } from '../../../spec/kernel/irq_work.ts';
import { irqWorkQueueOn } from '../../../spec/kernel/irq_work_on.ts';
import { LocalTrylock, localLock, localTrylock, localUnlock } from '../../../spec/kernel/local_lock.ts';
import { noSpinEnter, noSpinExit, trylockOutcome, trylockRetryReset, TRYLOCK_RETRY_BOUND } from '../../../spec/kernel/nospin.ts';
import { numa, numaMemId, pageNode, NUMA_NO_NODE } from '../../../spec/kernel/numa.ts';
import { canStart, runCpu, start } from '../../../spec/kernel/sched.ts';
import { RawSpinlock } from '../../../spec/kernel/spinlock.ts';
import { spinLockIrqsave, spinTrylockIrqsave, spinUnlockIrqrestore } from '../../../spec/kernel/spinlock_rt.ts';
import { Violation, type Gen, type Owner } from '../../../spec/kernel/types.ts';
import { Work } from '../../../spec/kernel/workqueue.ts';
import { flushWork, queueWorkOn } from '../../../spec/kernel/workqueue_on.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

const owner: Owner = { name: 'pcs', freed: false };

function violation(f: () => unknown): Violation | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof Violation) return e;
    throw e;
  }
}

/** A task that takes the lock and then waits for `release` to be set. */
function holder(l: LocalTrylock, gate: { open: boolean }) {
  return function* (x: Context): Gen<void> {
    if (!(yield* localTrylock(x, l))) throw new Error('holder could not take the lock');
    while (!gate.open) yield 'holding';
    yield* localUnlock(x, l);
  };
}

describe('local_trylock_t without PREEMPT_RT', () => {
  it('keeps preemption off while held: no task starts over the holder (must-fail), one does once it unlocks (must-pass)', () => {
    const k = kernel();
    const l = new LocalTrylock(owner, 'lock');
    const gate = { open: false };
    const x = start(k, 0, 'task', 'prog0', holder(l, gate));
    runCpu(k, 0, 2);
    expect(l.holder).toBe(x);
    expect(canStart(k, 0, 'task')).toBe(false);
    gate.open = true;
    runCpu(k, 0, 0, x);
    expect(canStart(k, 0, 'task')).toBe(true);
  });

  it('fails only for an interrupt over the holder on its CPU (must-fail), succeeds when free (must-pass)', () => {
    const k = kernel();
    const l = new LocalTrylock(owner, 'lock');
    const gate = { open: false };
    start(k, 0, 'task', 'prog0', holder(l, gate));
    runCpu(k, 0, 2);
    let got: boolean | null = null;
    const irq = start(k, 0, 'hardirq', 'irq0', function* (y) {
      got = yield* localTrylock(y, l);
    });
    runCpu(k, 0, 0, irq);
    expect(got).toBe(false);
    gate.open = true;
    runCpu(k, 0, 0);
    expect(drive(localTrylock(ctx(k, 0, 'hardirq'), l)).value).toBe(true);
  });

  it('local_lock() over a holder is a lockdep splat (must-fail); on a free lock it takes it (must-pass)', () => {
    const k = kernel();
    const l = new LocalTrylock(owner, 'lock');
    const a = ctx(k, 0, 'task', 'a');
    drive(localLock(a, l));
    expect(l.holder).toBe(a);
    expect(violation(() => drive(localLock(ctx(k, 0, 'task', 'b'), l)))?.invariant).toBe('NoKernelWarn');
    expect(violation(() => drive(localUnlock(ctx(k, 0, 'task', 'c'), l)))?.invariant).toBe('NoKernelWarn');
    drive(localUnlock(a, l));
    expect(l.holder).toBeNull();
  });
});

describe('local_trylock_t under PREEMPT_RT', () => {
  it('fails in hardirq and NMI even when free (must-fail); succeeds at task level (must-pass)', () => {
    const k = kernel({ preemptRt: true });
    const l = new LocalTrylock(owner, 'lock');
    expect(drive(localTrylock(ctx(k, 0, 'nmi'), l)).value).toBe(false);
    expect(drive(localTrylock(ctx(k, 0, 'hardirq'), l)).value).toBe(false);
    expect(drive(localTrylock(ctx(k, 0, 'task'), l)).value).toBe(true);
  });

  it('lets a task preempt the holder, whose trylock then fails (must-fail); free again after the unlock (must-pass)', () => {
    const k = kernel({ preemptRt: true });
    const l = new LocalTrylock(owner, 'lock');
    const gate = { open: false };
    start(k, 0, 'task', 'prog0', holder(l, gate));
    runCpu(k, 0, 2);
    expect(canStart(k, 0, 'task')).toBe(true);
    let got: boolean | null = null;
    const y = start(k, 0, 'task', 'prog1', function* (z) {
      got = yield* localTrylock(z, l);
    });
    runCpu(k, 0, 0, y);
    expect(got).toBe(false);
    gate.open = true;
    runCpu(k, 0, 0);
    expect(l.holder).toBeNull();
  });

  it('local_lock() sleeps while the task it preempted holds the lock, which runs on and releases it (must-pass); in hardirq it is forbidden (must-fail)', () => {
    const k = kernel({ preemptRt: true });
    const l = new LocalTrylock(owner, 'lock');
    const gate = { open: false };
    const h = start(k, 0, 'task', 'prog0', holder(l, gate));
    runCpu(k, 0, 2);
    const w = start(k, 0, 'task', 'prog1', function* (z) {
      yield* localLock(z, l);
      yield* localUnlock(z, l);
    });
    runCpu(k, 0, 2);
    expect(w.sleeping).toBe(true);
    gate.open = true;
    runCpu(k, 0, 0, h);
    expect(h.done).toBe(true);
    runCpu(k, 0, 0, w);
    expect(w.done).toBe(true);
    expect(violation(() => drive(localLock(ctx(k, 1, 'hardirq'), new LocalTrylock(owner, 'l2'))))?.invariant).toBe('NoSpinWhereForbidden');
  });
});

describe('spinlock_t under PREEMPT_RT', () => {
  it('is a sleeping lock: a task preempting the holder waits, IRQs stay on, no deadlock (must-pass)', () => {
    const k = kernel({ preemptRt: true });
    const l = new RawSpinlock(owner, 'barn_lock', 'spinlock_t');
    const gate = { open: false };
    const h = start(k, 0, 'task', 'prog0', function* (x) {
      const f = yield* spinLockIrqsave(x, l);
      while (!gate.open) yield 'holding';
      yield* spinUnlockIrqrestore(x, l, f);
    });
    runCpu(k, 0, 2);
    expect(k.cpus[0]!.irqsOff).toBe(false);
    const w = start(k, 0, 'task', 'prog1', function* (x) {
      const f = yield* spinLockIrqsave(x, l);
      yield* spinUnlockIrqrestore(x, l, f);
    });
    runCpu(k, 0, 2);
    expect(w.sleeping).toBe(true);
    gate.open = true;
    runCpu(k, 0, 0, h);
    runCpu(k, 0, 0, w);
    expect(w.done).toBe(true);
  });

  it('without PREEMPT_RT the holder has IRQs off, and an NMI acquire over it is judged before it could spin (must-fail)', () => {
    const k = kernel();
    const l = new RawSpinlock(owner, 'barn_lock', 'spinlock_t');
    start(k, 0, 'task', 'prog0', function* (x) {
      yield* spinLockIrqsave(x, l);
      for (;;) yield 'holding';
    });
    runCpu(k, 0, 2);
    expect(k.cpus[0]!.irqsOff).toBe(true);
    expect(violation(() => drive(spinLockIrqsave(ctx(k, 0, 'nmi'), l)))?.invariant).toBe('NoSpinWhereForbidden');
  });

  it('in hardirq it may not block (must-fail); in a softirq thread it may (must-pass)', () => {
    const k = kernel({ preemptRt: true });
    const l = new RawSpinlock(owner, 'list_lock', 'spinlock_t');
    expect(violation(() => drive(spinLockIrqsave(ctx(k, 0, 'hardirq'), l)))?.invariant).toBe('NoSpinWhereForbidden');
    const s = ctx(k, 0, 'softirq');
    drive(spinLockIrqsave(s, l));
    expect(l.holder).toBe(s);
  });
});

describe('allow_spin = false', () => {
  it('an acquire that may spin is judged at the acquire, held or not (must-fail); a trylock never is, nor a spin outside (must-pass)', () => {
    const k = kernel();
    const l = new RawSpinlock(owner, 'lock', 'spinlock_t');
    const x = ctx(k, 0, 'task');
    noSpinEnter(x, 'kmalloc_nolock');
    expect(violation(() => drive(spinLockIrqsave(x, l)))?.detail).toMatch(/allow_spin = false path \(kmalloc_nolock\)/);
    expect(drive(spinTrylockIrqsave(x, l)).value.ok).toBe(true);
    noSpinExit(x);
    l.release();
    k.cpus[0]!.irqsOff = false;
    drive(spinLockIrqsave(x, l));
    expect(l.holder).toBe(x);
    expect(violation(() => drive(spinLockIrqsave(ctx(k, 1, 'nmi'), new RawSpinlock(owner, 'other')))) ?.detail).toMatch(/in NMI/);
  });

  it('a trylock retried more than the bound against the context it interrupted is a violation (must-fail); up to the bound, or after a reset, it is not (must-pass)', () => {
    const k = kernel();
    const beneath = ctx(k, 0, 'task', 'beneath');
    const x = ctx(k, 0, 'nmi', 'nmi0');
    for (let i = 0; i < TRYLOCK_RETRY_BOUND; i++) trylockOutcome(x, false, beneath, 'local_trylock(&lock)');
    trylockRetryReset(x);
    for (let i = 0; i < TRYLOCK_RETRY_BOUND; i++) trylockOutcome(x, false, beneath, 'local_trylock(&lock)');
    expect(violation(() => trylockOutcome(x, false, beneath, 'local_trylock(&lock)'))?.invariant).toBe('NoSpinWhereForbidden');
    const other = ctx(k, 1, 'task', 'other-cpu');
    const y = ctx(k, 0, 'nmi', 'nmi1');
    for (let i = 0; i < 2 * TRYLOCK_RETRY_BOUND; i++) trylockOutcome(y, false, other, 'spin_trylock(&list_lock)');
  });
});

describe('irq_work_queue_on(), queue_work_on(), flush_work()', () => {
  it('an irq_work queued on another CPU fires there at once, over what runs there (must-pass); on its own CPU it is irq_work_queue() (must-pass)', () => {
    const k = kernel();
    const ran: number[] = [];
    const w = new IrqWork(owner, 'w', function* (x) {
      ran.push(x.cpu);
      yield 'work';
    }, 'fn');
    initIrqWork(null, w);
    const busy = start(k, 1, 'task', 'prog1', function* () {
      for (let i = 0; i < 3; i++) yield 'busy';
    });
    drive(irqWorkQueueOn(ctx(k, 0), w, 1));
    expect(w.cpu).toBe(1);
    runCpu(k, 1, 1);
    expect(ran).toEqual([1]);
    expect(busy.done).toBe(false);
    drive(irqWorkQueueOn(ctx(k, 0), w, 0));
    expect(w.cpu).toBe(0);
    expect(drive(irqWorkQueue(ctx(k, 0), w)).value).toBe(false);
  });

  it('queue_work_on() queues on the named CPU (must-pass) and flush_work() waits while it is pending (must-fail to return early)', () => {
    const k = kernel();
    const w = new Work(owner, 'work', function* () {
      yield 'work';
    }, 'fn');
    expect(drive(queueWorkOn(ctx(k, 0), 1, w)).value).toBe(true);
    expect(w.cpu).toBe(1);
    expect(drive(queueWorkOn(ctx(k, 0), 1, w)).value).toBe(false);
    const g = flushWork(ctx(k, 0), w);
    expect(g.next().done).toBe(false);
  });
});

describe('NUMA topology', () => {
  it('two CPUs: a node each, both with memory; four: the last CPU alone on a memoryless node', () => {
    const k2 = kernel();
    expect(numa(k2)).toEqual({ nodes: 2, nodeOf: [0, 1], hasMemory: [true, true] });
    expect(numaMemId(k2, 1)).toBe(1);
    const k4 = kernel({ cpus: 4 });
    expect(numa(k4)).toEqual({ nodes: 3, nodeOf: [0, 1, 0, 2], hasMemory: [true, true, false] });
    expect(numaMemId(k4, 3)).toBe(2);
    expect(pageNode(k4, 3, NUMA_NO_NODE)).toBe(0);
    expect(pageNode(k4, 1, NUMA_NO_NODE)).toBe(1);
  });
});
