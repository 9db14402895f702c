// mm/slub.c, allocation: __pcs_replace_empty_main() (unlock, refill,
// relock, reconcile), alloc_from_pcs(), alloc_from_pcs_bulk(),
// slab_alloc_node(), kmem_cache_alloc(), kmem_cache_alloc_bulk().
//
// Elided: kfence_alloc(), the post-alloc hooks (memcg, KASAN, init),
// should_failslab(), strict_numa and a requested node (every caller here
// passes NUMA_NO_NODE, so node_requested is false).
import { kfunc, type Context } from '../kernel/context.ts';
import { mightSleep } from '../kernel/might_sleep.ts';
import { trylockRetryReset } from '../kernel/nospin.ts';
import { links, type Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { barnGetEmptySheaf, barnPutEmptySheaf, barnPutFullSheaf, barnReplaceEmptySheaf } from './barn.ts';
import { __GFP_NOMEMALLOC, gfpflagsAllowBlocking, gfpflagsAllowSpinning, gfpName, type Gfp } from './gfp.ts';
import { allocFullSheaf, cacheHasSheaves, pcsLock, pcsTrylock, pcsUnlock, refillSheaf, touchSheaf, type KmemCache, type SlabSheaf, type SlubPercpuSheaves } from './pcs.ts';
import { ___slabAlloc, __kmemCacheAllocBulk } from './refill.ts';
import { __kmemCacheFreeBulk } from './slab.ts';

function swapMainSpare(pcs: SlubPercpuSheaves): void {
  const m = pcs.main;
  pcs.main = pcs.spare;
  pcs.spare = m;
}

/** __pcs_replace_empty_main(): called with the lock held and main empty;
 *  returns the pcs locked with a non-empty main, or NULL unlocked. */
export const __pcsReplaceEmptyMain = kfunc('__pcs_replace_empty_main', function* (x: Context, s: KmemCache, pcs: SlubPercpuSheaves, gfp: Gfp): Gen<SlubPercpuSheaves | null> {
  if (!cacheHasSheaves(s)) {
    yield* pcsUnlock(x, s);
    return null;
  }
  if (pcs.spare && pcs.spare.size > 0) {
    swapMainSpare(pcs);
    x.touched = pcs.name;
    yield x.k.labels ? `swap(pcs->main, pcs->spare): main = ${pcs.main!.name} (${pcs.main!.size})` : '';
    return pcs;
  }
  const barn = s.ops.replace_empty_main_barn(x, s);
  if (barn === 'none') {
    yield* pcsUnlock(x, s);
    return null;
  }
  let full = yield* barnReplaceEmptySheaf(x, barn, pcs.main!, gfpflagsAllowSpinning(gfp));
  if (full) {
    pcs.main = full;
    x.touched = pcs.name;
    yield x.k.labels ? `pcs->main = ${full.name} (${full.size}) from the barn` : '';
    return pcs;
  }
  const canAlloc = gfpflagsAllowBlocking(gfp);
  let empty: SlabSheaf | null = null;
  if (canAlloc) {
    if (pcs.spare) {
      empty = pcs.spare;
      pcs.spare = null;
      x.touched = pcs.name;
      yield x.k.labels ? `empty = pcs->spare (${empty.name}); pcs->spare = NULL` : '';
    } else empty = yield* barnGetEmptySheaf(x, barn, true);
  }
  yield* pcsUnlock(x, s);
  if (!canAlloc) return null;
  if (empty) {
    if (!(yield* refillSheaf(x, s, empty, gfp | __GFP_NOMEMALLOC))) full = empty;
    // we must be very low on memory so don't bother with the barn
    else yield* s.ops.free_unfilled_sheaf(x, s, empty);
  } else full = yield* allocFullSheaf(x, s, gfp);
  if (!full) return null;
  // gfpflags_allow_blocking: not an irq, local_lock() may be taken
  pcs = yield* pcsLock(x, s);
  touchSheaf(x, pcs.main!);
  if (pcs.main!.size === 0) {
    if (!pcs.spare) {
      pcs.spare = pcs.main;
      pcs.main = full;
      yield x.k.labels ? `pcs->spare = main (${pcs.spare!.name}), pcs->main = ${full.name}` : '';
      return pcs;
    }
    const old = pcs.main!;
    pcs.main = full;
    yield x.k.labels ? `pcs->main = ${full.name}` : '';
    yield* barnPutEmptySheaf(x, barn, old);
    return pcs;
  }
  if (!pcs.spare) {
    pcs.spare = full;
    yield x.k.labels ? `pcs->spare = ${full.name}` : '';
    return pcs;
  }
  if (pcs.spare.size === 0) {
    const old = pcs.spare;
    pcs.spare = full;
    yield x.k.labels ? `pcs->spare = ${full.name}` : '';
    yield* barnPutEmptySheaf(x, barn, old);
    return pcs;
  }
  yield* barnPutFullSheaf(x, barn, full);
  return pcs;
});

/** alloc_from_pcs(s, gfp, NUMA_NO_NODE): NULL means the slow path */
export const allocFromPcs = kfunc('alloc_from_pcs', function* (x: Context, s: KmemCache, gfp: Gfp): Gen<Obj | null> {
  let pcs = yield* pcsTrylock(x, s);
  if (!pcs) return null;
  if (pcs.main!.size === 0) {
    pcs = yield* __pcsReplaceEmptyMain(x, s, pcs, gfp);
    if (!pcs) return null;
  }
  const main = pcs.main!;
  touchSheaf(x, main);
  const object = main.objects[--main.size]!;
  main.objects[main.size] = null;
  object.next = null;
  links.version++;
  x.obj = object;
  x.act = 'taken off list';
  yield x.k.labels ? `${object.name} = ${main.name}->objects[--size] (${main.size})` : '';
  yield* pcsUnlock(x, s);
  return object;
});

/** alloc_from_pcs_bulk(): from main (refilled from spare or barn only),
 *  never from the slabs */
export const allocFromPcsBulk = kfunc('alloc_from_pcs_bulk', function* (x: Context, s: KmemCache, gfp: Gfp, size: number, p: Obj[]): Gen<number> {
  let allocated = 0;
  for (;;) {
    const pcs = yield* pcsTrylock(x, s);
    if (!pcs) return allocated;
    if (pcs.main!.size === 0) {
      if (!cacheHasSheaves(s)) {
        yield* pcsUnlock(x, s);
        return allocated;
      }
      if (pcs.spare && pcs.spare.size > 0) {
        swapMainSpare(pcs);
        yield x.k.labels ? `swap(pcs->main, pcs->spare)` : '';
      } else {
        const barn = s.ops.replace_empty_main_barn(x, s);
        if (barn === 'none') {
          yield* pcsUnlock(x, s);
          return allocated;
        }
        const full = yield* barnReplaceEmptySheaf(x, barn, pcs.main!, gfpflagsAllowSpinning(gfp));
        if (!full) {
          yield* pcsUnlock(x, s);
          return allocated;
        }
        pcs.main = full;
      }
    }
    const main = pcs.main!;
    touchSheaf(x, main);
    const batch = Math.min(size, main.size);
    main.size -= batch;
    for (let i = 0; i < batch; i++) {
      const o = main.objects[main.size + i]!;
      main.objects[main.size + i] = null;
      o.next = null;
      p.push(o);
    }
    links.version++;
    yield x.k.labels ? `${batch} object(s) off ${main.name} (${main.size} left)` : '';
    yield* pcsUnlock(x, s);
    allocated += batch;
    if (batch >= size) return allocated;
    size -= batch;
  }
});

/** slab_pre_alloc_hook(): might_alloc() */
function slabPreAllocHook(x: Context, gfp: Gfp): void {
  trylockRetryReset(x);
  if (gfpflagsAllowBlocking(gfp)) mightSleep(x, `kmem_cache_alloc(${gfpName(gfp)})`);
}

/** __slab_alloc_node(): strict_numa elided */
export const __slabAllocNode = kfunc('__slab_alloc_node', function* (x: Context, s: KmemCache, gfp: Gfp): Gen<Obj | null> {
  return yield* ___slabAlloc(x, s, gfp);
});

/** slab_alloc_node(s, NULL, gfp, NUMA_NO_NODE) */
export const slabAllocNode = kfunc('slab_alloc_node', function* (x: Context, s: KmemCache, gfp: Gfp): Gen<Obj | null> {
  slabPreAllocHook(x, gfp);
  x.k.touch(x, s, 'cpu_sheaves');
  let object = yield* allocFromPcs(x, s, gfp);
  if (!object) object = yield* __slabAllocNode(x, s, gfp);
  if (object) s.judge?.allocated(x, s, object, gfp);
  return object;
});

export const kmemCacheAlloc = kfunc('kmem_cache_alloc', function* (x: Context, s: KmemCache, gfp: Gfp): Gen<Obj | null> {
  return yield* slabAllocNode(x, s, gfp);
});

/** kmem_cache_alloc_bulk(): all or nothing; p receives the objects */
export const kmemCacheAllocBulk = kfunc('kmem_cache_alloc_bulk', function* (x: Context, s: KmemCache, gfp: Gfp, size: number, p: Obj[]): Gen<number> {
  if (!size) return 0;
  slabPreAllocHook(x, gfp);
  const i = yield* allocFromPcsBulk(x, s, gfp, size, p);
  if (i < size) {
    // out of memory: do not bother with the sheaves, free what we got
    if ((yield* __kmemCacheAllocBulk(x, s, gfp, size - i, p)) === 0) {
      if (i > 0) yield* __kmemCacheFreeBulk(x, s, p.splice(0, i));
      return 0;
    }
  }
  for (const o of p) s.judge?.allocated(x, s, o, gfp);
  return size;
});
