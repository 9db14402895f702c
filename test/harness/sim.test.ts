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
import { runCommands } from '../../harness/shrink.ts';
import type { Cmd } from '../../harness/commands.ts';

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

describe('the log replays as the run ran', () => {
  it('a command with nothing to run still passes a tick of a sleeper\'s timer: it is logged, so the log replays to the same end', () => {
    // reuse-after-rcu-gp: two sleepable lookups sleep holding their objects;
    // `step cpu1` has nothing to run but moves their timers on (the check
    // once saved a log without it, and the replay ended elsewhere)
    const P = (o: Partial<Extract<Cmd, { t: 'prog' }>>): Cmd => ({ t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0, ...o });
    const raw: Cmd[] = [
      P({ count: 2 }),
      { t: 'nmi', cpu: 1, op: 'alloc', arg: 0 },
      P({ cpu: 1, op: 'lookup', arg: 5, count: 2, sleepable: true, hold: 3 }),
      P({ cpu: 1, op: 'lookup', count: 3, sleepable: true, hold: 2 }),
      { t: 'step', cpu: 1, steps: 0 },
      { t: 'gp', flavour: 'rcu' },
      { t: 'step', cpu: 1, steps: 0 },
      { t: 'nmi', cpu: 1, op: 'alloc', arg: 0 },
      P({ cpu: 1, op: 'free', steps: 1 }),
      { t: 'step', cpu: 1, steps: 0 },
      P({ cpu: 1, op: 'free', count: 3, steps: 1 }),
      { t: 'gp', flavour: 'rcu' },
      P({}),
      P({ cpu: 1, op: 'lookup', steps: 4 }),
      { t: 'nmi', cpu: 1, op: 'free', arg: 0 },
      { t: 'gp', flavour: 'rcu' },
      { t: 'gp', flavour: 'rcu' },
    ];
    const p = findPolicy('reuse-after-rcu-gp')!;
    const a = runCommands(p, fixed, raw, { promise: ['NoReuseBeforeGracePeriod'] });
    expect(a.effective[4]).toEqual({ t: 'step', cpu: 1, steps: 0 });
    const b = runCommands(p, fixed, a.effective, { promise: ['NoReuseBeforeGracePeriod'] });
    expect(b.effective).toEqual(a.effective);
    expect([b.violation?.invariant, b.violation?.detail]).toEqual([a.violation?.invariant, a.violation?.detail]);
    expect(b.sim.k.steps).toBe(a.sim.k.steps);
  });
});
