// mm/slub.c with seed 002, allocation side: alloc_from_pca(),
// alloc_from_pca_bulk(), refill_pca(), kmem_cache_prefill_percpu_array(),
// slab_alloc_node(), kmem_cache_alloc_bulk(). Slab pages themselves are the
// engine's slab: __slab_alloc_node() is one kmalloc.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { __kmemCacheFreeBulk } from './free.ts';
import { allowBlocking, EINVAL, ENOMEM, gfpOf, inIrq, lockdepAssertNoHardirq, PCA_BATCH, pcaPop, pcaPush, pcaSpinTrylock, pcaSpinUnlock, pcaUsed, type Gfp, type KmemCache } from './pca.ts';

/** __slab_alloc_node(): the slow path, past the array. */
export const __slabAllocNode = kfunc('__slab_alloc_node', function* (x: Context, s: KmemCache): Gen<Obj | null> {
  return yield* x.k.slab.kmalloc(x, s.object_size);
});

/** __kmem_cache_alloc_bulk(): all or nothing. */
export const __kmemCacheAllocBulk = kfunc('__kmem_cache_alloc_bulk', function* (x: Context, s: KmemCache, size: number, p: Obj[]): Gen<number> {
  const got: Obj[] = [];
  for (let i = 0; i < size; i++) {
    const o = yield* x.k.slab.kmalloc(x, s.object_size);
    if (!o) {
      for (const g of got) yield* x.k.slab.kfree(x, g);
      return 0;
    }
    got.push(o);
  }
  p.push(...got);
  return size;
});

/** The batch refill_pca() holds when its trylock fails goes back to slab
 *  (SlubOps.refill_pca_put_back). Seed 002 returns false with `objects`
 *  still allocated: they would be lost (bug/pca-refill-leaks keeps that). */
export function* refillPcaPutBack(x: Context, s: KmemCache, objects: Obj[]): Gen<void> {
  yield* __kmemCacheFreeBulk(x, s, objects);
}

/** refill_pca(): bulk-allocate up to `count` objects in batches of at most
 *  PCA_BATCH and put what fits into this CPU's array (SlubOps.refill_pca). */
export const refillPca = kfunc('refill_pca', function* (x: Context, s: KmemCache, count: number): Gen<boolean> {
  for (;;) {
    let batch = Math.min(count, PCA_BATCH);
    const objects: Obj[] = [];
    const allocated = yield* __kmemCacheAllocBulk(x, s, batch, objects);
    if (!allocated) return false;
    const pca = yield* pcaSpinTrylock(x, s);
    if (!pca) {
      // not in seed 002: give the batch back to slab
      yield* s.ops.refill_pca_put_back(x, s, objects);
      return false;
    }
    batch = Math.min(allocated, pca.count - (yield* pcaUsed(x, pca)));
    for (let i = 0; i < batch; i++) yield* pcaPush(x, pca, objects[i]!);
    yield* pcaSpinUnlock(x, pca);
    // someone freed to the array while we bulk allocated: too many now
    if (batch < allocated) {
      yield* __kmemCacheFreeBulk(x, s, objects.slice(batch));
      return true;
    }
    count -= batch;
    if (count <= 0) return true;
  }
});

/** alloc_from_pca(): NULL means "use the slow path". */
export const allocFromPca = kfunc('alloc_from_pca', function* (x: Context, s: KmemCache, gfp: Gfp = gfpOf(x)): Gen<Obj | null> {
  for (;;) {
    const pca = yield* pcaSpinTrylock(x, s);
    if (!pca) return null;
    if ((yield* pcaUsed(x, pca)) === 0) {
      const batch = pca.count >> 1;
      yield* pcaSpinUnlock(x, pca);
      if (!allowBlocking(x, gfp) || inIrq(x)) return null;
      if (yield* s.ops.refill_pca(x, s, batch)) continue; // retry
      return null;
    }
    const object = yield* pcaPop(x, pca);
    yield* pcaSpinUnlock(x, pca);
    return object;
  }
});

/** alloc_from_pca_bulk(): take up to size objects, never refill. */
export const allocFromPcaBulk = kfunc('alloc_from_pca_bulk', function* (x: Context, s: KmemCache, size: number, p: Obj[]): Gen<number> {
  const pca = yield* pcaSpinTrylock(x, s);
  if (!pca) return 0;
  const want = size;
  size = Math.min(size, yield* pcaUsed(x, pca, false, want));
  // p[--i] = pca->objects[--pca->used]: keep the array's order in p
  const got: Obj[] = [];
  for (let i = size; i > 0; i--) got.unshift(yield* pcaPop(x, pca));
  p.push(...got);
  yield* pcaSpinUnlock(x, pca);
  return size;
});

/** slab_alloc_node() with NUMA_NO_NODE: the array, then the slow path. */
export const slabAllocNode = kfunc('slab_alloc_node', function* (x: Context, s: KmemCache, gfp: Gfp = gfpOf(x)): Gen<Obj | null> {
  let object: Obj | null = null;
  x.k.touch(x, s, 'cpu_array');
  if (s.cpu_array) object = yield* allocFromPca(x, s, gfp);
  if (!object) object = yield* __slabAllocNode(x, s);
  return object;
});

export const kmemCacheAlloc = kfunc('kmem_cache_alloc', function* (x: Context, s: KmemCache, gfp: Gfp = gfpOf(x)): Gen<Obj | null> {
  return yield* slabAllocNode(x, s, gfp);
});

/** kmem_cache_alloc_bulk(): all or nothing; p receives the objects. */
export const kmemCacheAllocBulk = kfunc('kmem_cache_alloc_bulk', function* (x: Context, s: KmemCache, size: number, p: Obj[]): Gen<number> {
  if (!size) return 0;
  let fromPca = 0;
  let allocated = 0;
  x.k.touch(x, s, 'cpu_array');
  if (s.cpu_array) fromPca = yield* allocFromPcaBulk(x, s, size, p);
  if (fromPca < size) {
    allocated = yield* __kmemCacheAllocBulk(x, s, size - fromPca, p);
    if (allocated === 0 && fromPca > 0) {
      // seed 002 frees these and then still adds from_pca to the count it
      // returns, handing the caller objects already back in slab
      yield* __kmemCacheFreeBulk(x, s, p.splice(0, fromPca));
      fromPca = 0;
    }
  }
  return allocated + fromPca;
});

/** kmem_cache_prefill_percpu_array(): not from an irq handler. */
export const kmemCachePrefillPercpuArray = kfunc('kmem_cache_prefill_percpu_array', function* (x: Context, s: KmemCache, count: number): Gen<number> {
  lockdepAssertNoHardirq(x);
  if (!s.cpu_array) return EINVAL;
  // racy: raw_cpu_ptr() and READ_ONCE(pca->used) without the lock
  const pca = s.cpu_array.pcas[x.cpu]!;
  const used = yield* pcaUsed(x, pca, true);
  if (used >= count) return 0;
  if (pca.count < count) return EINVAL;
  return (yield* s.ops.refill_pca(x, s, count - used)) ? 0 : ENOMEM;
});
