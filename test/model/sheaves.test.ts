// The sheaves invariants (model/sheaves.ts), each with a must-fail case
// on a state that breaks it and a must-pass control on a cache as
// kmem_cache_create() leaves it or as the code leaves it.
import { describe, expect, it } from 'vitest';
import { SheavesModel } from '../../model/sheaves.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { kmemCacheCreate } from '../../spec/sheaves/destroy.ts';
import { __GFP_MEMALLOC, GFP_KERNEL } from '../../spec/sheaves/gfp.ts';
import { newSheaf, pcsTrylock, pcsUnlock } from '../../spec/sheaves/pcs.ts';
import { newSlab, takeFromSlab } from '../../spec/sheaves/slab.ts';
import { NUMA_NO_NODE } from '../../spec/kernel/numa.ts';
import { ctx, drive, kernel } from '../helpers/boot.ts';
import type { InvariantName } from '../../model/invariants.ts';

function boot(pool = 24) {
  const k = kernel({ maxObjects: pool });
  const s = kmemCacheCreate(k, 's', 8184);
  const model = new SheavesModel(k, () => [s]);
  s.judge = model;
  return { k, s, model };
}

function audit(model: SheavesModel): [InvariantName, string][] {
  const out: [InvariantName, string][] = [];
  model.audit((inv, d) => out.push([inv, d]));
  return out;
}

function thrown(f: () => unknown): Violation | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof Violation) return e;
    throw e;
  }
}

describe('SheafInOnePlace', () => {
  it('a sheaf that is main and on a barn list too (must-fail); as created, each sheaf in one place (must-pass)', () => {
    const { s, model } = boot();
    expect(audit(model)).toEqual([]);
    const main = s.cpu_sheaves![0]!.main!;
    s.node[0]!.barn!.sheaves_empty.push(main);
    s.node[0]!.barn!.nr_empty++;
    expect(audit(model).map(([i]) => i)).toContain('SheafInOnePlace');
  });

  it('a live sheaf in no place is lost (must-fail)', () => {
    const { k, s, model } = boot();
    newSheaf(k, s, s.sheaf_capacity);
    expect(audit(model)[0]?.[1]).toMatch(/in no place/);
  });
});

describe('MainSheafPresent', () => {
  it('an unlock with main NULL (must-fail); with main set (must-pass)', () => {
    const { k, s } = boot();
    const x = ctx(k, 0);
    const pcs = drive(pcsTrylock(x, s)).value!;
    drive(pcsUnlock(x, s));
    drive(pcsTrylock(x, s));
    pcs.main = null;
    expect(thrown(() => drive(pcsUnlock(x, s)))?.invariant).toBe('MainSheafPresent');
  });
});

describe('SlabCountsMatch', () => {
  it('a node counting a slab it does not have (must-fail); counts as new_slab() and the list leave them (must-pass)', () => {
    const { k, s, model } = boot();
    const x = ctx(k, 0);
    const slab = drive(newSlab(x, s, GFP_KERNEL, NUMA_NO_NODE)).value!;
    s.node[0]!.nr_slabs++;
    expect(audit(model)).toEqual([]);
    takeFromSlab(x, slab);
    expect(audit(model)).toEqual([]);
    slab.inuse++;
    expect(audit(model).map(([i]) => i)).toEqual(['SlabCountsMatch']);
    slab.inuse--;
    s.node[0]!.nr_slabs++;
    expect(audit(model).map(([i]) => i)).toEqual(['SlabCountsMatch']);
  });
});

describe('PfmemallocOnlyToReserves', () => {
  it('an object of a pfmemalloc slab to GFP_KERNEL (must-fail); to __GFP_MEMALLOC, or a normal object to anyone (must-pass)', () => {
    const { k, s, model } = boot(8);
    const x = ctx(k, 0);
    const normal = drive(newSlab(x, s, GFP_KERNEL, NUMA_NO_NODE)).value!;
    expect(normal.pfmemalloc).toBe(false);
    expect(drive(newSlab(x, s, GFP_KERNEL, NUMA_NO_NODE)).value).toBeNull();
    const reserve = drive(newSlab(x, s, GFP_KERNEL | __GFP_MEMALLOC, NUMA_NO_NODE)).value!;
    expect(reserve.pfmemalloc).toBe(true);
    const o = takeFromSlab(x, reserve);
    model.allocated(x, s, takeFromSlab(x, normal), GFP_KERNEL);
    model.allocated(x, s, o, GFP_KERNEL | __GFP_MEMALLOC);
    expect(thrown(() => model.allocated(x, s, o, GFP_KERNEL))?.invariant).toBe('PfmemallocOnlyToReserves');
  });
});

describe('KvfreeRcuBarrierComplete', () => {
  it('a barrier returning before the callback of a kfree_rcu() that returned before it began (must-fail); after it ran, or for a call racing with the barrier (must-pass)', () => {
    const { k, s, model } = boot();
    const x = ctx(k, 0);
    const slab = drive(newSlab(x, s, GFP_KERNEL, NUMA_NO_NODE)).value!;
    const a = takeFromSlab(x, slab);
    const b = takeFromSlab(x, slab);
    model.kfreeRcu(x, s, a);
    model.kfreeRcuReturned(x, s, a);
    model.barrierBegin(x, s);
    model.kfreeRcu(x, s, b);
    model.kfreeRcuReturned(x, s, b);
    expect(thrown(() => model.barrierEnd(x, s))?.invariant).toBe('KvfreeRcuBarrierComplete');
    model.rcuDone([a, b]);
    // a kfree_rcu() still in progress when the barrier begins is racing
    // with it: the barrier promises nothing for it
    const c = takeFromSlab(x, slab);
    model.kfreeRcu(x, s, c);
    model.barrierBegin(x, s);
    model.kfreeRcuReturned(x, s, c);
    model.barrierEnd(x, s);
  });
});

describe('DestroyLeavesNothing', () => {
  it('an object still in a main sheaf or a slab still counted after shutdown (must-fail); a cache as created (must-pass)', () => {
    const { k, s, model } = boot();
    const x = ctx(k, 0);
    model.shutDown(x, s);
    const slab = drive(newSlab(x, s, GFP_KERNEL, NUMA_NO_NODE)).value!;
    expect(thrown(() => model.shutDown(x, s))?.detail).toMatch(/never freed/);
    const main = s.cpu_sheaves![0]!.main!;
    main.objects[main.size++] = takeFromSlab(x, slab);
    expect(thrown(() => model.shutDown(x, s))?.detail).toMatch(/main .* still holds 1 object/);
  });
});
