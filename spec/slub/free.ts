// mm/slub.c with seed 002, free side: free_to_pca(), free_to_pca_bulk(),
// flush_pca(), slab_free(), kmem_cache_free_bulk(), and the array's part of
// kmem_cache_destroy().
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import { rawSpinLock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import { freeCpuArray, inIrq, PCA_BATCH, pcaPop, pcaPush, pcaSpinTrylock, pcaSpinUnlock, pcaUsed, type KmemCache } from './pca.ts';

/** do_slab_free(): the object goes back to its slab page. */
export const doSlabFree = kfunc('do_slab_free', function* (x: Context, s: KmemCache, o: Obj): Gen<void> {
  void s;
  yield* x.k.slab.kfree(x, o);
});

/** __kmem_cache_free_bulk(): straight to slab, past the array. */
export const __kmemCacheFreeBulk = kfunc('__kmem_cache_free_bulk', function* (x: Context, s: KmemCache, p: readonly Obj[]): Gen<void> {
  void s;
  for (const o of p) yield* x.k.slab.kfree(x, o);
});

/** flush_pca(): move up to `count` objects from this CPU's array back to
 *  slab, at most PCA_BATCH per lock hold. */
export const flushPca = kfunc('flush_pca', function* (x: Context, s: KmemCache, count: number): Gen<boolean> {
  for (;;) {
    const pca = yield* pcaSpinTrylock(x, s);
    if (!pca) return false;
    const batch = Math.min(count, PCA_BATCH, yield* pcaUsed(x, pca));
    const objects: Obj[] = [];
    for (let i = 0; i < batch; i++) objects.push(yield* pcaPop(x, pca));
    const remaining = pca.used.v;
    yield* pcaSpinUnlock(x, pca);
    yield* __kmemCacheFreeBulk(x, s, objects);
    if (batch < count && remaining > 0) {
      count -= batch;
      continue;
    }
    return true;
  }
});

/** free_to_pca(): false means the array did not take the object and the
 *  caller still owns it. */
export const freeToPca = kfunc('free_to_pca', function* (x: Context, s: KmemCache, object: Obj): Gen<boolean> {
  for (;;) {
    const pca = yield* pcaSpinTrylock(x, s);
    if (!pca) return false;
    if ((yield* pcaUsed(x, pca)) === pca.count) {
      const batch = pca.count >> 1;
      yield* pcaSpinUnlock(x, pca);
      if (inIrq(x)) return false;
      if (!(yield* flushPca(x, s, batch))) return false;
      continue; // retry
    }
    yield* pcaPush(x, pca, object);
    yield* pcaSpinUnlock(x, pca);
    return true;
  }
});

/** free_to_pca_bulk(): put as many as fit; returns how many it took. */
export const freeToPcaBulk = kfunc('free_to_pca_bulk', function* (x: Context, s: KmemCache, p: readonly Obj[]): Gen<number> {
  const pca = yield* pcaSpinTrylock(x, s);
  if (!pca) return 0;
  const size = Math.min(p.length, pca.count - (yield* pcaUsed(x, pca, false, p.length)));
  // slab_free_hook() always lets the object go here (no KASAN quarantine)
  for (let i = 0; i < size; i++) yield* pcaPush(x, pca, p[i]!);
  yield* pcaSpinUnlock(x, pca);
  return size;
});

/** slab_free() with the review's fix: an object free_to_pca() could not
 *  take goes to slab instead of nowhere. */
export const slabFree = kfunc('slab_free', function* (x: Context, s: KmemCache, object: Obj): Gen<void> {
  x.k.touch(x, s, 'cpu_array');
  if (s.cpu_array) {
    if (yield* freeToPca(x, s, object)) return;
  }
  yield* doSlabFree(x, s, object);
});

export const kmemCacheFree = kfunc('kmem_cache_free', function* (x: Context, s: KmemCache, object: Obj): Gen<void> {
  yield* slabFree(x, s, object);
});

/** kmem_cache_free_bulk(): the array first (memcg_kmem_online() is false
 *  here), the rest straight to slab. */
export const kmemCacheFreeBulk = kfunc('kmem_cache_free_bulk', function* (x: Context, s: KmemCache, p: readonly Obj[]): Gen<void> {
  if (!p.length) return;
  x.k.touch(x, s, 'cpu_array');
  if (s.cpu_array) {
    const pcaFreed = yield* freeToPcaBulk(x, s, p);
    if (pcaFreed === p.length) return;
    p = p.slice(pcaFreed);
  }
  yield* __kmemCacheFreeBulk(x, s, p);
});

/** Empty one CPU's array at destroy: nobody uses the cache any more, so
 *  the plain lock (pca_spin_lock on that CPU's array) is enough. */
export function* flushCpuArray(x: Context, s: KmemCache, cpu: number): Gen<void> {
  const pca = s.cpu_array!.pcas[cpu]!;
  yield* rawSpinLock(x, pca.lock);
  const objects: Obj[] = [];
  while ((yield* pcaUsed(x, pca)) > 0) objects.push(yield* pcaPop(x, pca));
  yield* pcaSpinUnlock(x, pca);
  yield* __kmemCacheFreeBulk(x, s, objects);
}

/** kmem_cache_destroy() of a cache with an array: flush every CPU's array,
 *  then __kmem_cache_release() frees s->cpu_array (the review's fix). */
export const kmemCacheDestroy = kfunc('kmem_cache_destroy', function* (x: Context, s: KmemCache): Gen<void> {
  if (s.cpu_array) for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) yield* flushCpuArray(x, s, cpu);
  yield* freeCpuArray(x, s);
  yield* kmemCacheFreeStruct(x, s);
});

/** The kmem_cache itself goes: later touches are use-after-free. */
export function* kmemCacheFreeStruct(x: Context, s: KmemCache): Gen<void> {
  s.freed = true;
  x.k.slab.structs.delete(s);
  x.touched = s.name;
  yield 'kmem_cache_free(kmem_cache, s)';
}
