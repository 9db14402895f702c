import { describe, expect, it } from 'vitest';
import type { Obj } from '../../../spec/kernel/obj.ts';
import { allocFromPca, kmemCacheAllocBulk, kmemCachePrefillPercpuArray, refillPca } from '../../../spec/slub/alloc.ts';
import { flushPca, freeToPca, kmemCacheDestroy, kmemCacheFree, kmemCacheFreeBulk } from '../../../spec/slub/free.ts';
import { EINVAL, ENOMEM, KmemCache, kmemCacheSetupPercpuArray, PCA_HEADER } from '../../../spec/slub/pca.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

function setup(count: number, over: Parameters<typeof kernel>[0] = {}): { k: Kernel; s: KmemCache } {
  const k = kernel(over);
  const s = new KmemCache(64);
  expect(drive(kmemCacheSetupPercpuArray(ctx(k), s, count)).value).toBe(0);
  return { k, s };
}
const pca = (s: KmemCache, cpu = 0) => s.cpu_array!.pcas[cpu]!;
const slots = (s: KmemCache, cpu = 0) => pca(s, cpu).objects.slice(0, pca(s, cpu).used.v).map((o) => o!.name);
const trylocks = (steps: string[]) => steps.filter((t) => t.startsWith('spin_trylock')).length;

describe('kmem_cache_setup_percpu_array()', () => {
  it('allocates one empty array per CPU, accounted as percpu bytes and a live structure', () => {
    const { k, s } = setup(4, { cpus: 2 });
    expect(s.cpu_array!.pcas.map((p) => [p.count, p.used.v])).toEqual([[4, 0], [4, 0]]);
    expect(k.slab.percpuBytes).toBe((PCA_HEADER + 8 * 4) * 2);
    expect(k.slab.structs.has(s.cpu_array!)).toBe(true);
    expect(k.holders).toContain(pca(s, 1));
  });
  it('refuses a second array', () => {
    const { k, s } = setup(4);
    expect(drive(kmemCacheSetupPercpuArray(ctx(k), s, 4)).value).toBe(EINVAL);
  });
});

describe('kmem_cache_prefill_percpu_array()', () => {
  it('fills the current CPU only, up to the count asked', () => {
    const { k, s } = setup(8);
    expect(drive(kmemCachePrefillPercpuArray(ctx(k, 1), s, 3)).value).toBe(0);
    expect([pca(s, 0).used.v, pca(s, 1).used.v]).toEqual([0, 3]);
    expect(k.slab.live).toBe(3);
    // already enough: nothing to do
    expect(drive(kmemCachePrefillPercpuArray(ctx(k, 1), s, 2)).value).toBe(0);
    expect(k.slab.live).toBe(3);
    expect(drive(kmemCachePrefillPercpuArray(ctx(k, 1), s, 9)).value).toBe(EINVAL);
  });
  it('gives the batch back to slab when the trylock fails after the bulk allocation', () => {
    const { k, s } = setup(8);
    k.slab.armed.trylock = 1;
    expect(drive(kmemCachePrefillPercpuArray(ctx(k), s, 4)).value).toBe(ENOMEM);
    expect([pca(s).used.v, k.slab.live]).toEqual([0, 0]);
  });
});

describe('refill_pca() and flush_pca() move at most 32 objects per lock hold', () => {
  it('refills 80 in batches of 32, 32, 16', () => {
    const { k, s } = setup(100);
    const r = drive(refillPca(ctx(k), s, 80));
    expect(r.value).toBe(true);
    expect(pca(s).used.v).toBe(80);
    expect(trylocks(r.steps)).toBe(3);
    const f = drive(flushPca(ctx(k), s, 70));
    expect(f.value).toBe(true);
    expect(trylocks(f.steps)).toBe(3);
    expect([pca(s).used.v, k.slab.live]).toEqual([10, 10]);
  });
  it('puts back what no longer fits when the array filled up meanwhile', () => {
    const { k, s } = setup(4);
    drive(refillPca(ctx(k), s, 3));
    drive(refillPca(ctx(k), s, 3));
    expect([pca(s).used.v, k.slab.live]).toEqual([4, 4]);
  });
});

describe('alloc_from_pca()', () => {
  it('pops the last object pushed', () => {
    const { k, s } = setup(4);
    drive(refillPca(ctx(k), s, 3));
    expect(drive(allocFromPca(ctx(k), s)).value!.name).toBe('obj2');
    expect(slots(s)).toEqual(['obj0', 'obj1']);
  });
  it('refills half of an empty array in process context, then pops', () => {
    const { k, s } = setup(4);
    const o = drive(allocFromPca(ctx(k), s)).value;
    expect(o).not.toBeNull();
    expect(pca(s).used.v).toBe(1);
  });
  it('returns NULL from an interrupt when empty: the caller takes the slow path', () => {
    const { k, s } = setup(4);
    expect(drive(allocFromPca(ctx(k, 0, 'nmi'), s)).value).toBeNull();
    expect(k.slab.live).toBe(0);
  });
  it('returns NULL when the trylock fails', () => {
    const { k, s } = setup(4);
    drive(refillPca(ctx(k), s, 2));
    k.slab.armed.trylock = 1;
    expect(drive(allocFromPca(ctx(k), s)).value).toBeNull();
    expect(pca(s).used.v).toBe(2);
  });
});

describe('free_to_pca() and slab_free()', () => {
  function owned(k: Kernel, n: number): Obj[] {
    return Array.from({ length: n }, () => drive(k.slab.kmalloc(null, 64)).value!);
  }
  it('flushes half of a full array in process context, then pushes', () => {
    const { k, s } = setup(4);
    const objs = owned(k, 5);
    for (const o of objs.slice(0, 4)) expect(drive(freeToPca(ctx(k), s, o)).value).toBe(true);
    expect(drive(freeToPca(ctx(k), s, objs[4]!)).value).toBe(true);
    expect(slots(s)).toEqual(['obj0', 'obj1', 'obj4']);
    expect(k.slab.live).toBe(3);
  });
  it('gives up on a full array in an interrupt; slab_free() then frees to slab', () => {
    const { k, s } = setup(2);
    const objs = owned(k, 3);
    drive(kmemCacheFree(ctx(k), s, objs[0]!));
    drive(kmemCacheFree(ctx(k), s, objs[1]!));
    const nmi = ctx(k, 0, 'nmi');
    expect(drive(freeToPca(nmi, s, objs[2]!)).value).toBe(false);
    drive(kmemCacheFree(nmi, s, objs[2]!));
    expect(objs[2]!.state).toBe('slab');
    expect(slots(s)).toEqual(['obj0', 'obj1']);
  });
  it('slab_free() frees to slab when the trylock fails', () => {
    const { k, s } = setup(4);
    const [o] = owned(k, 1);
    k.slab.armed.trylock = 1;
    drive(kmemCacheFree(ctx(k), s, o!));
    expect([o!.state, pca(s).used.v]).toEqual(['slab', 0]);
  });
});

describe('bulk alloc and free through the array', () => {
  it('kmem_cache_free_bulk() fills the array and frees the rest to slab', () => {
    const { k, s } = setup(4);
    const objs = Array.from({ length: 6 }, () => drive(k.slab.kmalloc(null, 64)).value!);
    drive(kmemCacheFreeBulk(ctx(k), s, objs));
    expect(slots(s)).toEqual(['obj0', 'obj1', 'obj2', 'obj3']);
    expect(k.slab.live).toBe(4);
  });
  it('kmem_cache_alloc_bulk() takes from the array first, then slab', () => {
    const { k, s } = setup(4);
    drive(refillPca(ctx(k), s, 2));
    const p: Obj[] = [];
    expect(drive(kmemCacheAllocBulk(ctx(k), s, 3, p)).value).toBe(3);
    expect(p.map((o) => o.name)).toEqual(['obj0', 'obj1', 'obj2']);
    expect(pca(s).used.v).toBe(0);
  });
  it('kmem_cache_alloc_bulk() is all or nothing: a slab failure returns the array part to slab and 0', () => {
    const { k, s } = setup(4);
    drive(refillPca(ctx(k), s, 2));
    k.slab.armed.kmalloc = 1;
    const p: Obj[] = [];
    expect(drive(kmemCacheAllocBulk(ctx(k), s, 3, p)).value).toBe(0);
    expect(p).toEqual([]);
    expect(k.slab.live).toBe(0);
  });
});

describe('kmem_cache_destroy()', () => {
  it('empties every array and frees s->cpu_array', () => {
    const { k, s } = setup(4, { cpus: 2 });
    drive(refillPca(ctx(k, 0), s, 2));
    drive(refillPca(ctx(k, 1), s, 3));
    const a = s.cpu_array!;
    drive(kmemCacheDestroy(ctx(k), s));
    expect([k.slab.live, k.slab.percpuBytes, k.slab.structs.size]).toEqual([0, 0, 0]);
    expect(a.freed).toBe(true);
    expect(k.holders).not.toContain(a.pcas[0]);
  });
});
