// The model's witness-free RCU judgements (model/allocator.ts), on a
// hand-driven kernel: which read-side sections a path to slab must outlast
// (RcuSafety), and the grace period a bpf_mem_free_rcu()'d object waits for
// before it is handed out again (NoReuseBeforeGracePeriod).
import { describe, expect, it } from 'vitest';
import { AbstractAllocator } from '../../model/allocator.ts';
import type { Context } from '../../spec/kernel/context.ts';
import type { Kernel } from '../../spec/kernel/kernel.ts';
import type { Obj } from '../../spec/kernel/obj.ts';
import { rcuReadLock, rcuReadLockTrace, rcuReadUnlock, rcuReadUnlockTrace } from '../../spec/kernel/rcupdate.ts';
import { start } from '../../spec/kernel/sched.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { ctx, drive, kernel } from '../helpers/boot.ts';

function boot(promises: ConstructorParameters<typeof AbstractAllocator>[1] = []) {
  const k = kernel();
  const model = new AbstractAllocator(k, promises);
  const x = ctx(k, 0, 'task', 'prog0');
  const obj = (): Obj => drive(k.slab.kmalloc(null, 64)).value!;
  /** a program on cpu that stays on its CPU's stack (never stepped here) */
  const reader = (cpu: number, label: string): Context =>
    start(k, cpu, 'task', label, function* () {
      yield 'reads';
    });
  return { k, model, x, obj, reader };
}

/** The invariant a thunk violates, or null. */
function violated(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof Violation) return e.invariant;
    throw e;
  }
}

/** One normal grace period, queued now and ended now. */
function fullGp(k: Kernel): void {
  k.rcu.queue(null, 'rcu', { cpu: 0, name: 'gp', head: null, fn: null, wake: () => {} });
  expect(k.rcu.canEndGp('rcu')).toBe(true);
  k.rcu.endGp('rcu');
}

describe('RcuSafety without a witness', () => {
  it('a section open since before the release, still open at kfree, is violated though it looked nothing up', () => {
    const { model, x, obj, reader } = boot();
    const o = obj();
    model.allocated(x, o);
    const r = reader(1, 'prog1');
    rcuReadLock(r);
    model.released(o);
    expect(violated(() => model.kfree(x, o))).toBe('RcuSafety');
  });

  it('a section that began after the release could not have found it: no violation', () => {
    const { model, x, obj, reader } = boot();
    const o = obj();
    model.allocated(x, o);
    model.released(o);
    const r = reader(1, 'prog1');
    rcuReadLock(r);
    expect(violated(() => model.kfree(x, o))).toBe(null);
  });

  it('a section that ended before the kfree is no constraint, and a nested lock keeps the outer begin', () => {
    const { model, x, obj, reader } = boot();
    const o = obj();
    model.allocated(x, o);
    const r = reader(1, 'prog1');
    rcuReadLock(r);
    model.released(o);
    rcuReadLock(r); // nested: the section still began before the release
    rcuReadUnlock(r);
    expect(violated(() => model.kfree(x, o))).toBe('RcuSafety');
    const o2 = obj();
    model.allocated(x, o2);
    model.released(o2);
    rcuReadUnlock(r);
    expect(violated(() => model.kfree(x, o2))).toBe(null);
  });

  it('an RCU tasks trace section (a sleepable program) counts, unless the policy has sleepable readers take rcu_read_lock()', () => {
    const { model, x, obj, reader } = boot();
    const a = obj();
    const b = obj();
    model.allocated(x, a);
    model.allocated(x, b);
    const r = reader(1, 'prog1');
    rcuReadLockTrace(r);
    model.released(a);
    model.released(b);
    expect(violated(() => model.kfree(x, a))).toBe('RcuSafety');
    model.traceReaders = false;
    expect(violated(() => model.kfree(x, b))).toBe(null);
    rcuReadUnlockTrace(r);
  });

  it('objects never handed out (prefill) and objects handed out again carry no constraint from an old release', () => {
    const { model, x, obj, reader } = boot();
    const pre = obj();
    const o = obj();
    model.allocated(x, o);
    const r = reader(1, 'prog1');
    rcuReadLock(r);
    expect(violated(() => model.kfree(x, pre))).toBe(null);
    model.released(o);
    model.allocated(x, o); // reused at once (memalloc.c allows it for bpf_mem_free())
    rcuReadUnlock(r);
    model.released(o); // the last release: no section open
    rcuReadLock(r); // a new section, after it
    expect(violated(() => model.kfree(x, o))).toBe(null);
  });
});

describe('NoReuseBeforeGracePeriod for bpf_mem_free_rcu()', () => {
  it('is judged for an object freed with freeRcu even when the policy promises nothing', () => {
    const { k, model, x, obj } = boot();
    const o = obj();
    model.allocated(x, o);
    model.released(o, true);
    expect(violated(() => model.allocated(x, o))).toBe('NoReuseBeforeGracePeriod');
    void k;
  });

  it('an object freed with plain free may come back at once when not promised', () => {
    const { model, x, obj } = boot();
    const o = obj();
    model.allocated(x, o);
    model.released(o);
    expect(violated(() => model.allocated(x, o))).toBe(null);
  });

  it('a grace period that started after the release lets it come back; one in progress at the release does not', () => {
    const { k, model, x, obj } = boot();
    const o = obj();
    model.allocated(x, o);
    model.released(o, true);
    fullGp(k);
    expect(violated(() => model.allocated(x, o))).toBe(null);

    // a grace period already running when the object is freed
    k.rcu.queue(null, 'rcu', { cpu: 0, name: 'gp', head: null, fn: null, wake: () => {} });
    model.released(o, true);
    k.rcu.endGp('rcu');
    expect(violated(() => model.allocated(x, o))).toBe('NoReuseBeforeGracePeriod');
  });
});
