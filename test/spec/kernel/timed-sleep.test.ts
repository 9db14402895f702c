// scheduleTimeout() (spec/kernel/sched.ts): a task that sleeps on a timer,
// as a sleepable BPF program does in bpf_copy_from_user(). In the style of
// sched.test.ts: each rule a "must not be allowed" case and a "must be
// allowed" control.
import { describe, expect, it } from 'vitest';
import type { Context } from '../../../spec/kernel/context.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import { RcuHead, callRcu, callRcuTasksTrace, rcuReadLock, rcuReadLockTrace, rcuReadUnlock, rcuReadUnlockTrace } from '../../../spec/kernel/rcupdate.ts';
import { canStart, runnable, scheduleTimeout, start, step, tick, wakeTimers } from '../../../spec/kernel/sched.ts';
import { Violation, type Gen, type Owner } from '../../../spec/kernel/types.ts';
import { kernel } from '../../helpers/boot.ts';

const owner = (name = 'c'): Owner => ({ name, freed: false });

function stepCpu(k: Kernel, cpu: number): Context {
  const x = runnable(k, cpu);
  expect(x, `something runnable on cpu${cpu}`).toBeDefined();
  expect(step(k, x!)).toBe(true);
  return x!;
}

/** A sleepable reader: a tasks-trace section (and a normal one with
 *  `rcuToo`) around a timed sleep. */
function reader(ticks: number, rcuToo = false) {
  return function* (x: Context): Gen<void> {
    rcuReadLockTrace(x);
    if (rcuToo) rcuReadLock(x);
    yield 'lookup';
    yield* scheduleTimeout(x, ticks, 'sleeps holding obj');
    yield 'read';
    if (rcuToo) rcuReadUnlock(x);
    rcuReadUnlockTrace(x);
  };
}

describe('scheduleTimeout: a timed sleep', () => {
  it('must not: sleep inside rcu_read_lock() (NoSleepInAtomic), nor wake before its ticks have passed', () => {
    const k = kernel();
    start(k, 0, 'task', 'prog0', reader(2, true));
    stepCpu(k, 0);
    let v: unknown = null;
    try {
      stepCpu(k, 0);
    } catch (e) {
      v = e;
    }
    expect(v).toBeInstanceOf(Violation);
    expect((v as Violation).invariant).toBe('NoSleepInAtomic');

    const k2 = kernel();
    const x = start(k2, 0, 'task', 'prog0', reader(2));
    stepCpu(k2, 0);
    stepCpu(k2, 0); // goes to sleep
    expect(x.sleeping).toBe(true);
    expect(runnable(k2, 0)).toBeUndefined();
    tick(k2);
    expect(runnable(k2, 0)).toBeUndefined();
  });

  it('must be allowed: while it sleeps in a tasks-trace section the task beneath runs, new tasks start, a normal grace period ends (a tasks-trace one does not); after its ticks it reads', () => {
    const k = kernel();
    k.keepHistory = true;
    const beneath = start(k, 0, 'task', 'prog0', function* () {
      yield 'b1';
      yield 'b2';
    });
    const x = start(k, 0, 'task', 'prog1', reader(2));
    stepCpu(k, 0);
    stepCpu(k, 0);
    expect(x.sleeping).toBe(true);
    expect(runnable(k, 0)).toBe(beneath); // R5
    stepCpu(k, 0);
    const c = owner();
    const h1 = new RcuHead(c, 'rcu');
    const h2 = new RcuHead(c, 'rcu_ttrace');
    const y = start(k, 1, 'task', 'prog2', function* (z) {
      yield* callRcu(z, h1, function* () {}, 'cb');
      yield* callRcuTasksTrace(z, h2, function* () {}, 'cb_ttrace');
    });
    stepCpu(k, 1);
    stepCpu(k, 1);
    stepCpu(k, 1);
    expect(y.done).toBe(true);
    expect(k.rcu.canEndGp('rcu')).toBe(true);
    expect(k.rcu.canEndGp('rcu_tasks_trace')).toBe(false);
    tick(k);
    expect(runnable(k, 0)).toBe(beneath); // one tick left
    tick(k);
    // woken: it runs once what runs beneath it may be preempted (R6)
    expect(runnable(k, 0)).toBe(x);
    stepCpu(k, 0);
    expect(x.history).toEqual(['lookup', 'sleeps holding obj: waiting', 'read']);
    expect(k.rcu.canEndGp('rcu_tasks_trace')).toBe(false);
    stepCpu(k, 0); // leaves its section
    expect(x.done).toBe(true);
    expect(k.rcu.canEndGp('rcu_tasks_trace')).toBe(true);
  });

  it('wakeTimers: time passes to the first expiry only; false with no timer pending', () => {
    const k = kernel();
    expect(wakeTimers(k)).toBe(false);
    const a = start(k, 0, 'task', 'prog0', reader(3));
    const b = start(k, 1, 'task', 'prog1', reader(5));
    stepCpu(k, 0);
    stepCpu(k, 0);
    stepCpu(k, 1);
    stepCpu(k, 1);
    expect(canStart(k, 0, 'task')).toBe(true); // over a sleeper
    expect(wakeTimers(k)).toBe(true);
    expect(runnable(k, 0)).toBe(a);
    expect(runnable(k, 1)).toBeUndefined();
    expect(b.sleepTicks).toBe(2);
  });
});
