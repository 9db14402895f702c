// One run (harness/sim.ts): a command resolves to its own action where the
// engine allows it, else the same kind on the next CPU, else any progress,
// else a program; the log holds the actions as they ran; the end of a run
// tears down and settles.
import { describe, expect, it } from 'vitest';
import { Sim } from '../../harness/sim.ts';
import { CONFIGS } from '../../harness/config.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { current } from '../../spec/kernel/sched.ts';

const fixed = CONFIGS.fixed!;
const bpf = (): Sim => new Sim(findPolicy('bpf-ma')!, fixed);

describe('Sim: resolve, fall back, fire', () => {
  it('a command runs as its own action when the engine allows it', () => {
    const sim = bpf();
    expect(sim.exec({ t: 'prog', cpu: 1, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 })).toBe(true);
    expect(sim.log).toEqual([{ t: 'prog', cpu: 1, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 }]);
    expect(sim.model.owned.length).toBe(1);
    expect(sim.did).toMatch(/^prog\d+ on cpu1: alloc obj\d+|^prog\d+ on cpu1: alloc$/);
  });

  it('one the engine does not allow falls back: no grace period pending, so a step of progress, else a program', () => {
    const sim = bpf();
    // nothing runs, nothing is pending: a gp command becomes an alloc program
    sim.exec({ t: 'gp', flavour: 'rcu' });
    expect(sim.log.at(-1)).toMatchObject({ t: 'prog', op: 'alloc', cpu: 0 });
    // a program stopped after one step on cpu0: a kworker command there steps it
    sim.exec({ t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 1 });
    sim.exec({ t: 'kworker', cpu: 0, steps: 1 });
    expect(sim.log.at(-1)).toMatchObject({ t: 'step', cpu: 0 });
  });

  it('the same kind on the next CPU before any progress', () => {
    const sim = bpf();
    sim.exec({ t: 'prog', cpu: 1, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 1 });
    sim.exec({ t: 'step', cpu: 0, steps: 0 });
    expect(sim.log.at(-1)).toEqual({ t: 'step', cpu: 1, steps: 0 });
  });

  it('after teardown no program starts, and the run is over once nothing is pending', () => {
    const sim = bpf();
    sim.exec({ t: 'destroy', cpu: 0, steps: 0 });
    sim.exec({ t: 'quiesce' });
    expect(sim.tearingDown).toBe(true);
    expect(sim.over).toBe(true);
  });

  it('finish() tears down and settles: every object back in slab', () => {
    const sim = bpf();
    sim.exec({ t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 3, sleepable: false, steps: 0 });
    sim.finish();
    expect(sim.k.slab.live).toBe(0);
    expect(sim.k.quiescent).toBe(true);
  });

  it('must fail: a NULL dereference in the spec (outside a policy hook: an irq_work, a callback) is an oops, NoKernelWarn', () => {
    const sim = bpf();
    const x = sim.k.context(0, 'softirq', 'softirq0');
    let v: unknown;
    try {
      sim.guard(() => {
        current.x = x;
        throw new TypeError("Cannot read properties of null (reading 'next')");
      });
    } catch (e) {
      v = e;
    }
    expect(v).toBeInstanceOf(Violation);
    expect((v as Violation).invariant).toBe('NoKernelWarn');
    expect((v as Violation).detail).toMatch(/^BUG: NULL pointer dereference in softirq0 on cpu0/);
    // any other error is the policy's, not the kernel's
    expect(() => sim.guard(() => {
      throw new RangeError('boom');
    })).toThrow(/policy bpf-ma/);
  });
});
