// memalloc.c's coverage situations (spec/memalloc/situations.ts) are
// predicates over steps, counted by harness/coverage.ts after each step.
import { describe, expect, it } from 'vitest';
import { installSituations, saw, situationList, situationTexts } from '../../../harness/coverage.ts';
import { start, step } from '../../../spec/kernel/sched.ts';
import type { Context } from '../../../spec/kernel/context.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import { bpfMemAllocInit } from '../../../spec/memalloc/init.ts';
import { MEMALLOC_SITUATIONS } from '../../../spec/memalloc/situations.ts';
import { unitAlloc, unitFree } from '../../../spec/memalloc/unit.ts';
import type { Situation } from '../../../spec/policies/policy.ts';
import { kernel } from '../../helpers/boot.ts';

function covered(list: readonly Situation[] = MEMALLOC_SITUATIONS): Kernel {
  const k = kernel();
  k.situations = new Map();
  installSituations(k, list);
  return k;
}

function toEnd(k: Kernel, x: Context): void {
  while (!x.done) step(k, x);
}

describe('memalloc situations', () => {
  it('nmi-in-active:unit_alloc: an NMI free inside unit_alloc() finds active taken', () => {
    const k = covered();
    const ma = bpfMemAllocInit(k, { size: 4088, percpu: false });
    const c = ma.cache!.caches[0]!;
    const obj = c.free_llist.first!;
    const task = start(k, 0, 'task', 'prog0', (x) => unitAlloc(x, c));
    step(k, task); // local_inc_return(&c->active) = 1
    const nmi = start(k, 0, 'nmi', 'nmi0', (x) => unitFree(x, c, obj));
    nmi.isProg = true;
    toEnd(k, nmi);
    expect(k.situations!.get('nmi-in-active:unit_alloc')).toBe(1);
    expect(k.situations!.get('nmi-in-active:unit_free')).toBeUndefined();
  });

  it('an NMI on a CPU where nothing holds active is not the situation', () => {
    const k = covered();
    const ma = bpfMemAllocInit(k, { size: 4088, percpu: false });
    const c = ma.cache!.caches[0]!;
    toEnd(k, start(k, 0, 'nmi', 'nmi0', (x) => unitAlloc(x, c)));
    expect([...k.situations!.keys()].filter((n) => n.startsWith('nmi-in-active'))).toEqual([]);
  });

  it('irq-work-while-other-cpu-frees counts the free that puts its object on a list while irq_work runs on the other CPU', () => {
    const k = covered();
    const ma = bpfMemAllocInit(k, { size: 4088, percpu: false });
    const [c0, c1] = ma.cache!.caches;
    start(k, 1, 'hardirq', 'irq_work0', (x) => unitAlloc(x, c1!));
    const obj = c0!.free_llist.first!;
    const prog = start(k, 0, 'task', 'prog0', (x) => unitFree(x, c0!, obj));
    prog.isProg = true;
    toEnd(k, prog);
    expect(k.situations!.get('irq-work-while-other-cpu-frees')).toBe(1);
  });

  it('nothing is evaluated while coverage is not collected', () => {
    const k = kernel();
    installSituations(k, MEMALLOC_SITUATIONS);
    expect(k.onStep).toBeNull();
  });

  it('a policy lists its situations; one that declares none has only the engine\'s own', () => {
    const p = { situations: [{ name: 'my-path', text: 'what it means' }] };
    expect(situationList(p)).toEqual([{ name: 'my-path', text: 'what it means' }]);
    expect(situationTexts(p)).toEqual({ 'my-path': 'what it means' });
    expect(situationList({})).toEqual([]);
    const k = covered(situationList(p));
    // a situation without `when` is the harness's to count
    saw(k, 'my-path');
    expect(k.situations!.get('my-path')).toBe(1);
  });

  it('an optional situation is counted but never expected (no blind spot)', () => {
    const p = { situations: [{ name: 'seen', text: 'a' }, { name: 'noted', text: 'b', optional: true }] };
    expect(situationTexts(p)).toEqual({ seen: 'a' });
  });

  it("`entering` asks once per call, at the step that entered the function; `fns` at each of its steps", () => {
    const k = covered([
      { name: 'entered', text: 'unit_alloc() was called', entering: ['unit_alloc'], when: () => true },
      { name: 'stepped', text: 'a step inside unit_alloc()', fns: ['unit_alloc'], when: () => true },
      { name: 'first', text: "a context's first step", first: true, when: () => true },
    ]);
    const ma = bpfMemAllocInit(k, { size: 4088, percpu: false });
    const c = ma.cache!.caches[0]!;
    const task = start(k, 0, 'task', 'prog0', function* (x) {
      yield* unitAlloc(x, c);
      yield* unitAlloc(x, c);
    });
    toEnd(k, task);
    expect(k.situations!.get('entered')).toBe(2);
    expect(k.situations!.get('stepped')).toBeGreaterThan(2);
    expect(k.situations!.get('first')).toBe(1);
  });

  it('the faults the harness armed are counted as the slab consumes them, not when armed', () => {
    const k = covered();
    k.slab.armed.kmalloc = 2;
    expect(k.situations!.get('fault:kmalloc')).toBeUndefined();
    expect(k.slab.fails('kmalloc')).toBe(true);
    expect(k.situations!.get('fault:kmalloc')).toBe(1);
  });
});
