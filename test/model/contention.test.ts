// NoAllocFailureFromContention (model/allocator.ts allocFailed): memalloc.c
// keeps every context but an NMI out of a cache's 'active' section (IRQs
// off in unit_alloc()/unit_free(), local_irq_save() in the refill on
// PREEMPT_RT), so an allocation that fails because it found 'active' taken
// is judged unless it runs in NMI. The fact comes from local_inc_return()
// on a counter marked nestsOnlyInNmi (spec/kernel/atomic.ts).
import { describe, expect, it } from 'vitest';
import { AbstractAllocator } from '../../model/allocator.ts';
import { Cell, localIncReturn } from '../../spec/kernel/atomic.ts';
import type { Level } from '../../spec/kernel/types.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { ctx, drive, kernel } from '../helpers/boot.ts';

/** A failed allocation by a context of `level` that found `active` (held
 *  once already) taken, or not marked: the invariant judged, or null. */
function failAfterContention(level: Level, marked = true): string | null {
  const k = kernel();
  const model = new AbstractAllocator(k, []);
  const active = new Cell({ name: 'c[cpu0]', freed: false }, 'active');
  active.nestsOnlyInNmi = marked;
  active.v = 1; // a context beneath holds it
  const x = ctx(k, 0, level, `${level}0`);
  expect(drive(localIncReturn(x, active)).value).toBe(2);
  try {
    model.allocFailed(x);
    return null;
  } catch (e) {
    if (e instanceof Violation) return e.invariant;
    throw e;
  }
}

describe('an allocation that fails on a taken active counter', () => {
  it('must fail: from a task (a program that preempted a refill kthread on RT)', () => {
    expect(failAfterContention('task')).toBe('NoAllocFailureFromContention');
  });
  it('must fail: from a hardirq', () => {
    expect(failAfterContention('hardirq')).toBe('NoAllocFailureFromContention');
  });
  it('must pass: from an NMI, the one context the design lets in', () => {
    expect(failAfterContention('nmi')).toBeNull();
  });
  it('must pass: a counter the design does not restrict', () => {
    expect(failAfterContention('task', false)).toBeNull();
  });
});
