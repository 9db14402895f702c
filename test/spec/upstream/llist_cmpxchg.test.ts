// spec/kernel/llist_cmpxchg.ts against lib/llist.c: llist_del_first() as its
// three accesses, the retry of a failed cmpxchg, the ABA through slab reuse,
// llist_add_batch().
import { describe, expect, it } from 'vitest';
import { llistAdd, llistAddBatch, llistDelAll, llistDelFirst } from '../../../spec/kernel/llist_cmpxchg.ts';
import { LlistHead } from '../../../spec/kernel/llist.ts';
import type { Obj } from '../../../spec/kernel/obj.ts';
import { Violation, type Gen } from '../../../spec/kernel/types.ts';
import type { Context } from '../../../spec/kernel/context.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';
import { names } from './helpers.ts';
import { llistDelFirstSituations } from '../../../spec/kernel/situations.ts';
import { watch } from '../../helpers/situations.ts';

const owner = { name: 'c', freed: false };

/** One step of a's generator, read by the situations as the scheduler's. */
function stepOf<T>(a: Context, g: Gen<T>): IteratorResult<string, T> {
  const r = g.next();
  a.k.steps++;
  a.nsteps++;
  a.k.onStep?.(a);
  return r;
}

function setup() {
  const k = kernel();
  watch(k, llistDelFirstSituations(['alloc_bulk'], ['free_by_rcu_ttrace']));
  const h = new LlistHead(owner, 'free_by_rcu_ttrace');
  const a = ctx(k, 0, 'hardirq', 'irq_work');
  a.fns.push('alloc_bulk'); // upstream's caller of llist_del_first()
  const b = ctx(k, 1, 'hardirq', 'other');
  const obj = (): Obj => drive(k.slab.kmalloc(b, 8192)).value!;
  return { k, h, a, b, obj };
}

describe('llist_del_first()', () => {
  it('takes three steps: load first, load next, a cmpxchg that succeeds', () => {
    const { h, a, b, obj } = setup();
    const [x, y] = [obj(), obj()];
    drive(llistAdd(b, y, h));
    drive(llistAdd(b, x, h));
    const { value, steps } = drive(llistDelFirst(a, h));
    expect(value).toBe(x);
    expect(steps).toEqual([
      `llist_del_first: entry = head->first (${x.name})`,
      `llist_del_first: next = ${x.name}->next (${y.name})`,
      `llist_del_first: cmpxchg(&head->first, ${x.name}, ${y.name}) succeeds`,
    ]);
    expect(names(h)).toEqual([y.name]);
  });

  it('returns NULL on an empty list after one load', () => {
    const { h, a } = setup();
    expect(drive(llistDelFirst(a, h))).toEqual({ value: null, steps: ['llist_del_first: entry = head->first (NULL)'] });
  });

  it('a llist_add() by another CPU between the loads and the cmpxchg makes it retry on the new first', () => {
    const { k, h, a, b, obj } = setup();
    const [x, y] = [obj(), obj()];
    drive(llistAdd(b, x, h));
    const g = llistDelFirst(a, h);
    stepOf(a, g); // entry = x
    stepOf(a, g); // next = NULL
    drive(llistAdd(b, y, h)); // y -> x
    const rest: string[] = [];
    let r = stepOf(a, g);
    for (; !r.done; r = stepOf(a, g)) rest.push(r.value);
    expect(r.value).toBe(y);
    expect(rest[0]).toMatch(/cmpxchg\(&head->first, obj0, \.\.\.\) fails: entry = obj1/);
    expect(names(h)).toEqual([x.name]);
    expect(k.situations!.get('llist_del_first-retry')).toBe(1);
    expect(k.situations!.get('llist_del_first-raced-other-cpu')).toBe(1);
    expect(k.situations!.get('llist_del_first-raced-other-cpu:free_by_rcu_ttrace')).toBe(1);
  });

  it('ABA: the same address popped, freed, reallocated and pushed back between next and cmpxchg installs a stale next', () => {
    const { k, h, a, b, obj } = setup();
    const [x, y, z] = [obj(), obj(), obj()];
    drive(llistAdd(b, y, h));
    drive(llistAdd(b, x, h)); // x -> y
    const g = llistDelFirst(a, h);
    stepOf(a, g); // entry = x
    stepOf(a, g); // next = y
    // another CPU takes the whole list and frees it: y first, then x
    drive(llistDelAll(b, h));
    drive(k.slab.kfree(b, y));
    drive(k.slab.kfree(b, x));
    // slab hands the most recently freed address of the size back first
    const again = drive(k.slab.kmalloc(b, 8192)).value!;
    expect(again).toBe(x);
    drive(llistAdd(b, z, h));
    drive(llistAdd(b, again, h)); // x -> z
    let r = stepOf(a, g);
    for (; !r.done; r = stepOf(a, g));
    expect(r.value).toBe(x);
    // z is lost and the list's first is y, which is in slab
    expect(h.first).toBe(y);
    expect(y.state).toBe('slab');
    expect(k.situations!.get('llist_del_first-aba')).toBe(1);
    expect(k.situations!.get('llist_del_first-retry')).toBeUndefined();
  });

  it('writes by the same CPU are a retry but not a race with another CPU', () => {
    const { k, h, a, obj } = setup();
    const [x, y] = [obj(), obj()];
    drive(llistAdd(a, x, h));
    const g = llistDelFirst(a, h);
    stepOf(a, g);
    stepOf(a, g);
    drive(llistAdd(a, y, h));
    for (let r = stepOf(a, g); !r.done; r = stepOf(a, g));
    expect(k.situations!.get('llist_del_first-retry')).toBe(1);
    expect(k.situations!.get('llist_del_first-raced-other-cpu')).toBeUndefined();
  });
});

describe('llist_add_batch()', () => {
  it('splices first..last in front of the list in one step and says whether it was empty', () => {
    const { h, a, b, obj } = setup();
    const [x, y, z] = [obj(), obj(), obj()];
    x.next = y; // a private chain x -> y
    expect(drive(llistAddBatch(a, x, y, h))).toEqual({ value: true, steps: [`llist_add_batch(${x.name}..${y.name})`] });
    expect(drive(llistAddBatch(b, z, z, h)).value).toBe(false);
    expect(names(h)).toEqual([z.name, x.name, y.name]);
  });

  it('a NULL last node is an oops, reported as NoKernelWarn', () => {
    const { h, a, obj } = setup();
    const x = obj();
    expect(() => drive(llistAddBatch(a, x, null, h))).toThrow(Violation);
    expect(() => drive(llistAddBatch(a, x, null, h))).toThrow(/NULL pointer dereference/);
  });
});
