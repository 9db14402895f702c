// mm/slub.c, freeing: __pcs_install_empty_sheaf(), __pcs_replace_full_main(),
// free_to_pcs(), free_to_pcs_bulk() (remote and pfmemalloc objects batched
// apart), slab_free(), kmem_cache_free(), kfree(), kmem_cache_free_bulk().
//
// Elided: slab_free_hook() and the memcg / alloc tagging free hooks (the
// object always goes on), kfence, large kmalloc, the debug caches'
// detached-freelist path (cache_has_sheaves() holds for every cache here).
import { kfunc, type Context } from '../kernel/context.ts';
import { trylockRetryReset } from '../kernel/nospin.ts';
import { numaMemId } from '../kernel/numa.ts';
import { links, type Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { barnGetEmptySheaf, barnPutEmptySheaf, barnPutFullSheaf, barnReplaceFullSheaf, E2BIG, getBarn, type NodeBarn } from './barn.ts';
import { GFP_NOWAIT } from './gfp.ts';
import { allocEmptySheaf, cacheHasSheaves, PCS_BATCH_MAX, pcsTrylock, pcsUnlock, sheafFlushMain, sheafFlushUnused, touchSheaf, type KmemCache, type SlabSheaf, type SlubPercpuSheaves } from './pcs.ts';
import { __kmemCacheFreeBulk, __slabFree, virtToSlab } from './slab.ts';

function swapMainSpare(pcs: SlubPercpuSheaves): void {
  const m = pcs.main;
  pcs.main = pcs.spare;
  pcs.spare = m;
}

/** __pcs_install_empty_sheaf(): locked again with an empty sheaf in hand;
 *  reconcile with whatever happened to the sheaves meanwhile. */
export const __pcsInstallEmptySheaf = kfunc('__pcs_install_empty_sheaf', function* (x: Context, s: KmemCache, pcs: SlubPercpuSheaves, empty: SlabSheaf, barn: NodeBarn): Gen<void> {
  x.touched = pcs.name;
  if (!pcs.spare) {
    pcs.spare = pcs.main;
    pcs.main = empty;
    yield x.k.labels ? `pcs->spare = main (${pcs.spare!.name}); pcs->main = ${empty.name}` : '';
    return;
  }
  if (pcs.main!.size < s.sheaf_capacity) {
    yield* barnPutEmptySheaf(x, barn, empty);
    return;
  }
  if (pcs.spare.size < s.sheaf_capacity) {
    swapMainSpare(pcs);
    yield x.k.labels ? `swap(pcs->main, pcs->spare)` : '';
    yield* barnPutEmptySheaf(x, barn, empty);
    return;
  }
  // failed barn_replace_full_sheaf() for want of an empty sheaf: finish
  yield* barnPutFullSheaf(x, barn, pcs.main!);
  pcs.main = empty;
  yield x.k.labels ? `pcs->main = ${empty.name}` : '';
});

/** __pcs_replace_full_main(): called locked with main full; returns the
 *  pcs locked with room in main, or NULL unlocked. */
export const __pcsReplaceFullMain = kfunc('__pcs_replace_full_main', function* (x: Context, s: KmemCache, pcs: SlubPercpuSheaves | null, allowSpin: boolean): Gen<SlubPercpuSheaves | null> {
  for (;;) {
    // restart:
    if (!cacheHasSheaves(s)) {
      yield* pcsUnlock(x, s);
      return null;
    }
    const barn = getBarn(x, s);
    if (!barn) {
      yield* pcsUnlock(x, s);
      return null;
    }
    let putFail = false;
    let empty: SlabSheaf | null = null;
    let gotEmpty = false;
    if (!pcs!.spare) {
      empty = yield* barnGetEmptySheaf(x, barn, allowSpin);
      if (empty) {
        pcs!.spare = pcs!.main;
        pcs!.main = empty;
        x.touched = pcs!.name;
        yield x.k.labels ? `pcs->spare = main (${pcs!.spare!.name}); pcs->main = ${empty.name} from the barn` : '';
        return pcs;
      }
    } else if (pcs!.spare.size < s.sheaf_capacity) {
      swapMainSpare(pcs!);
      x.touched = pcs!.name;
      yield x.k.labels ? `swap(pcs->main, pcs->spare)` : '';
      return pcs;
    } else {
      const r = yield* barnReplaceFullSheaf(x, barn, pcs!.main!, allowSpin);
      if (typeof r !== 'number') {
        pcs!.main = r;
        x.touched = pcs!.name;
        yield x.k.labels ? `pcs->main = ${r.name} from the barn` : '';
        return pcs;
      }
      if (r === E2BIG && allowSpin) {
        // the spare exists and is full: flush it and use it
        const toFlush = pcs!.spare;
        pcs!.spare = null;
        x.touched = pcs!.name;
        yield x.k.labels ? `to_flush = pcs->spare (${toFlush.name}); pcs->spare = NULL` : '';
        yield* pcsUnlock(x, s);
        yield* sheafFlushUnused(x, s, toFlush);
        empty = toFlush;
        gotEmpty = true;
      } else putFail = true;
    }
    if (!gotEmpty) {
      // alloc_empty:
      yield* pcsUnlock(x, s);
      // alloc_empty_sheaf() and sheaf_flush_unused() need spinning
      if (!allowSpin) return null;
      empty = yield* allocEmptySheaf(x, s, GFP_NOWAIT);
      if (!empty) {
        void putFail;
        if (!(yield* sheafFlushMain(x, s))) return null;
        pcs = yield* pcsTrylock(x, s);
        if (!pcs) return null;
        // flushed, but preempted or migrated meanwhile: check again
        if (pcs.main!.size === s.sheaf_capacity) continue;
        return pcs;
      }
    }
    // got_empty:
    pcs = yield* pcsTrylock(x, s);
    if (!pcs) {
      yield* barnPutEmptySheaf(x, barn, empty!);
      return null;
    }
    yield* __pcsInstallEmptySheaf(x, s, pcs, empty!, barn);
    return pcs;
  }
});

/** free_to_pcs(): false when the sheaves did not take the object */
export const freeToPcs = kfunc('free_to_pcs', function* (x: Context, s: KmemCache, object: Obj, allowSpin: boolean): Gen<boolean> {
  let pcs = yield* pcsTrylock(x, s);
  if (!pcs) return false;
  if (pcs.main!.size === s.sheaf_capacity) {
    pcs = yield* __pcsReplaceFullMain(x, s, pcs, allowSpin);
    if (!pcs) return false;
  }
  const main = pcs.main!;
  touchSheaf(x, main);
  main.objects[main.size++] = object;
  links.version++;
  x.obj = object;
  x.act = 'put on list';
  yield x.k.labels ? `${main.name}->objects[size++] = ${object.name} (${main.size})` : '';
  yield* pcsUnlock(x, s);
  return true;
});

/** free_to_pcs_bulk() after its last batch: `if (remote_nr) goto
 *  flush_remote;` (SheavesOps.free_to_pcs_bulk_tail) */
export function* freeToPcsBulkTail(x: Context, s: KmemCache, remote: Obj[]): Gen<void> {
  if (remote.length) yield* __kmemCacheFreeBulk(x, s, remote.splice(0));
}

/** free_to_pcs_bulk(): objects of this node go to the sheaves in batches;
 *  remote and pfmemalloc ones are collected apart and freed to their
 *  slabs. */
export const freeToPcsBulk = kfunc('free_to_pcs_bulk', function* (x: Context, s: KmemCache, objs: readonly Obj[]): Gen<void> {
  const p = [...objs];
  let size = p.length;
  let i = 0;
  const remote: Obj[] = [];
  const node = numaMemId(x.k, x.cpu);
  for (;;) {
    // next_remote_batch:
    let remoteFull = false;
    while (i < size) {
      const slab = virtToSlab(p[i]!);
      if (slab.node !== node || slab.pfmemalloc) {
        remote.push(p[i]!);
        p[i] = p[--size]!;
        if (remote.length >= PCS_BATCH_MAX) {
          remoteFull = true;
          break;
        }
        continue;
      }
      i++;
    }
    let off = 0;
    let toSlabs = false;
    if (!remoteFull && size > off) {
      for (;;) {
        // next_batch:
        const pcs = yield* pcsTrylock(x, s);
        if (!pcs) {
          toSlabs = true;
          break;
        }
        if (pcs.main!.size >= s.sheaf_capacity) {
          const barn = getBarn(x, s);
          if (!barn) {
            yield* pcsUnlock(x, s);
            toSlabs = true;
            break;
          }
          if (!pcs.spare) {
            const empty = yield* barnGetEmptySheaf(x, barn, true);
            if (!empty) {
              yield* pcsUnlock(x, s);
              toSlabs = true;
              break;
            }
            pcs.spare = pcs.main;
            pcs.main = empty;
          } else if (pcs.spare.size < s.sheaf_capacity) {
            swapMainSpare(pcs);
          } else {
            const r = yield* barnReplaceFullSheaf(x, barn, pcs.main!, true);
            if (typeof r === 'number') {
              yield* pcsUnlock(x, s);
              toSlabs = true;
              break;
            }
            pcs.main = r;
          }
        }
        // do_free:
        const main = pcs.main!;
        touchSheaf(x, main);
        const batch = Math.min(size - off, s.sheaf_capacity - main.size);
        for (let j = 0; j < batch; j++) main.objects[main.size++] = p[off + j]!;
        links.version++;
        x.obj = p[off]!;
        x.act = 'put on list';
        yield x.k.labels ? `${batch} object(s) into ${main.name}: ${p.slice(off, off + batch).map((o) => o.name).join(' ')} (${main.size})` : '';
        yield* pcsUnlock(x, s);
        if (batch < size - off) {
          off += batch;
          continue;
        }
        off = size;
        break;
      }
      if (!toSlabs) {
        yield* s.ops.free_to_pcs_bulk_tail(x, s, remote);
        return;
      }
      // no_empty / fallback: the rest to the slabs
      yield* __kmemCacheFreeBulk(x, s, p.slice(off, size));
    }
    // flush_remote:
    if (remote.length) {
      yield* __kmemCacheFreeBulk(x, s, remote.splice(0));
      if (i < size) continue;
    }
    return;
  }
});

/** slab_free(): to the sheaves when the object is local and not from a
 *  pfmemalloc slab (SheavesOps.slab_free_to_pcs_ok), else to its slab */
export const slabFree = kfunc('slab_free', function* (x: Context, s: KmemCache, object: Obj): Gen<void> {
  trylockRetryReset(x);
  const slab = virtToSlab(object);
  if (s.ops.slab_free_to_pcs_ok(x, s, slab, numaMemId(x.k, x.cpu))) {
    if (yield* freeToPcs(x, s, object, true)) return;
  }
  yield* __slabFree(x, s, slab, [object]);
});

export const kmemCacheFree = kfunc('kmem_cache_free', function* (x: Context, s: KmemCache, object: Obj): Gen<void> {
  x.k.touch(x, s, 'cpu_sheaves');
  yield* slabFree(x, s, object);
});

/** kfree(): the cache is the object's slab's */
export const kfree = kfunc('kfree', function* (x: Context, object: Obj): Gen<void> {
  const s = virtToSlab(object).cache;
  x.k.touch(x, s, 'cpu_sheaves');
  yield* slabFree(x, s, object);
});

/** kmem_cache_free_bulk(): every cache here has sheaves */
export const kmemCacheFreeBulk = kfunc('kmem_cache_free_bulk', function* (x: Context, s: KmemCache, p: readonly Obj[]): Gen<void> {
  if (!p.length) return;
  trylockRetryReset(x);
  x.k.touch(x, s, 'cpu_sheaves');
  yield* freeToPcsBulk(x, s, p);
});
