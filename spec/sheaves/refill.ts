// mm/slub.c, objects out of the slabs: get_from_partial_node(),
// get_from_partial(), get_from_any_partial(), alloc_from_new_slab(),
// ___slab_alloc(), get_partial_node_bulk(), __refill_objects_node(),
// __refill_objects_any(), refill_objects(), __kmem_cache_alloc_bulk().
//
// Elided: the node != NUMA_NO_NODE / __GFP_THISNODE paths of
// ___slab_alloc() (no caller here asks for a node), strict_numa and
// mempolicies, cpusets; get_cycles() % 1024 > remote_node_defrag_ratio is
// taken as false (the default ratio is 1000: other nodes are searched).
import { kfunc, type Context } from '../kernel/context.ts';
import { NUMA_NO_NODE, numa, numaMemId } from '../kernel/numa.ts';
import type { Obj } from '../kernel/obj.ts';
import { spinLockIrqsave, spinTrylockIrqsave, spinUnlockIrqrestore } from '../kernel/spinlock_rt.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import type { Gen } from '../kernel/types.ts';
import { gfpflagsAllowSpinning, gfpPfmemallocAllowed, type Gfp } from './gfp.ts';
import type { KmemCache } from './pcs.ts';
import { __kmemCacheFreeBulk, __slabFree, addPartial, discardSlab, incSlabsNode, newSlab, removePartial, takeFromSlab, type KmemCacheNode, type Slab } from './slab.ts';

/** pfmemalloc_match() */
function pfmemallocMatch(slab: Slab, gfp: Gfp): boolean {
  return slab.pfmemalloc ? gfpPfmemallocAllowed(gfp) : true;
}

/** get_from_partial_node(): one object off the first matching partial slab */
export const getFromPartialNode = kfunc('get_from_partial_node', function* (x: Context, s: KmemCache, n: KmemCacheNode | null, gfp: Gfp): Gen<Obj | null> {
  if (!n || !n.nr_partial) return null;
  let flags: boolean;
  if (gfpflagsAllowSpinning(gfp)) flags = yield* spinLockIrqsave(x, n.list_lock);
  else {
    const t = yield* spinTrylockIrqsave(x, n.list_lock);
    if (!t.ok) return null;
    flags = t.flags;
  }
  let object: Obj | null = null;
  for (const slab of [...n.partial]) {
    if (!pfmemallocMatch(slab, gfp)) continue;
    // the cmpxchg of one object off the slab's freelist
    object = takeFromSlab(x, slab);
    if (!slab.freelist.length) removePartial(x, n, slab);
    break;
  }
  x.touched = `${n.name}.partial`;
  x.obj = object;
  x.act = object && 'from slab';
  yield x.k.labels ? `get_from_partial_node(node ${n.node}) = ${object ? object.name : 'NULL'}` : '';
  yield* spinUnlockIrqrestore(x, n.list_lock, flags);
  return object;
});

/** get_from_any_partial(): other nodes with more than min_partial slabs */
function* getFromAnyPartial(x: Context, s: KmemCache, gfp: Gfp): Gen<Obj | null> {
  for (let node = 0; node < numa(x.k).nodes; node++) {
    const n = s.node[node] ?? null;
    if (n && n.nr_partial > s.min_partial) {
      const object = yield* getFromPartialNode(x, s, n, gfp);
      if (object) return object;
    }
  }
  return null;
}

/** get_from_partial(s, NUMA_NO_NODE, pc) */
export function* getFromPartial(x: Context, s: KmemCache, gfp: Gfp): Gen<Obj | null> {
  const object = yield* getFromPartialNode(x, s, s.node[numaMemId(x.k, x.cpu)] ?? null, gfp);
  if (object) return object;
  return yield* getFromAnyPartial(x, s, gfp);
}

/** alloc_from_new_slab(): up to count objects of a slab nobody else sees
 *  yet; the rest goes on the partial list (a trylock when spinning is not
 *  allowed: on failure the slab goes back, SheavesOps.free_new_slab_nolock). */
export const allocFromNewSlab = kfunc('alloc_from_new_slab', function* (x: Context, s: KmemCache, slab: Slab, p: Obj[], count: number, allowSpin: boolean): Gen<number> {
  let allocated = 0;
  const needsAddPartial = slab.objects > count;
  let n: KmemCacheNode | null = null;
  let flags = false;
  if (!allowSpin && needsAddPartial) {
    n = s.node[slab.node]!;
    const t = yield* spinTrylockIrqsave(x, n.list_lock);
    if (!t.ok) {
      yield* s.ops.free_new_slab_nolock(x, s, slab);
      return 0;
    }
    flags = t.flags;
  }
  while (slab.freelist.length && allocated < count) {
    p.push(takeFromSlab(x, slab));
    allocated++;
  }
  x.touched = slab.name;
  x.obj = p[p.length - 1] ?? null;
  x.act = 'from slab';
  yield x.k.labels ? `${allocated} object(s) off new ${slab.name}: ${p.slice(p.length - allocated).map((o) => o.name).join(' ')}` : '';
  if (needsAddPartial) {
    if (allowSpin) {
      n = s.node[slab.node]!;
      flags = yield* spinLockIrqsave(x, n.list_lock);
    }
    addPartial(x, n!, slab, false);
    yield* spinUnlockIrqrestore(x, n!.list_lock, flags);
  }
  incSlabsNode(s, slab.node);
  return allocated;
});

/** ___slab_alloc(s, gfp, NUMA_NO_NODE): the slow path past the sheaves */
export const ___slabAlloc = kfunc('___slab_alloc', function* (x: Context, s: KmemCache, gfp: Gfp): Gen<Obj | null> {
  const allowSpin = gfpflagsAllowSpinning(gfp);
  for (;;) {
    const object = yield* getFromPartial(x, s, gfp);
    if (object) return object;
    const slab = yield* newSlab(x, s, gfp, NUMA_NO_NODE);
    if (!slab) return null;
    const p: Obj[] = [];
    yield* allocFromNewSlab(x, s, slab, p, 1, allowSpin);
    if (p.length) return p[0]!;
    // This could cause an endless loop: fail instead
    if (!allowSpin) return null;
  }
});

/** get_partial_node_bulk(): take whole slabs off the partial list until
 *  they hold min..max free objects. */
function* getPartialNodeBulk(x: Context, s: KmemCache, n: KmemCacheNode | null, gfp: Gfp, min: number, max: number, allowSpin: boolean): Gen<Slab[] | null> {
  // racy check
  if (!n || !n.nr_partial) return null;
  let flags: boolean;
  if (allowSpin) flags = yield* spinLockIrqsave(x, n.list_lock);
  else {
    const t = yield* spinTrylockIrqsave(x, n.list_lock);
    if (!t.ok) return null;
    flags = t.flags;
  }
  const slabs: Slab[] = [];
  let totalFree = 0;
  for (const slab of [...n.partial]) {
    if (!pfmemallocMatch(slab, gfp)) continue;
    const slabFree = slab.objects - slab.inuse;
    if (totalFree >= min && totalFree + slabFree > max) break;
    removePartial(x, n, slab);
    slabs.unshift(slab);
    totalFree += slabFree;
    if (totalFree >= max) break;
  }
  x.touched = `${n.name}.partial`;
  yield x.k.labels ? `get_partial_node_bulk(node ${n.node}): ${slabs.map((sl) => sl.name).join(' ') || 'none'} (${totalFree} free)` : '';
  yield* spinUnlockIrqrestore(x, n.list_lock, flags);
  return totalFree > 0 ? slabs : null;
}

/** __refill_objects_node() */
const __refillObjectsNode = kfunc('__refill_objects_node', function* (x: Context, s: KmemCache, p: Obj[], gfp: Gfp, min: number, max: number, n: KmemCacheNode | null, allowSpin: boolean): Gen<number> {
  const slabs = yield* getPartialNodeBulk(x, s, n, gfp, min, max, allowSpin);
  if (!slabs) return 0;
  let refilled = 0;
  while (slabs.length) {
    const slab = slabs.shift()!;
    // get_freelist_nofreeze(): the whole freelist, inuse = objects
    const all: Obj[] = [];
    while (slab.freelist.length) all.push(takeFromSlab(x, slab));
    let i = 0;
    for (; i < all.length && refilled < max; i++, refilled++) p.push(all[i]!);
    x.touched = slab.name;
    yield x.k.labels ? `get_freelist_nofreeze(${slab.name}): ${all.map((o) => o.name).join(' ')}` : '';
    // more than we can take: back as a detached freelist
    if (i < all.length) yield* __slabFree(x, s, slab, all.slice(i));
    if (refilled >= max) break;
  }
  if (slabs.length) {
    const flags = yield* spinLockIrqsave(x, n!.list_lock);
    const discard: Slab[] = [];
    for (const slab of slabs) {
      if (!slab.inuse && n!.nr_partial >= s.min_partial) discard.push(slab);
      else addPartial(x, n!, slab, false);
    }
    x.touched = `${n!.name}.partial`;
    yield x.k.labels ? `${slabs.length - discard.length} slab(s) back on ${n!.name}.partial` : '';
    yield* spinUnlockIrqrestore(x, n!.list_lock, flags);
    for (const slab of discard) yield* discardSlab(x, s, slab);
  }
  return refilled;
});

/** refill_objects(): the local node's partial slabs, other nodes', then
 *  new slabs until min; returns how many it put in p. */
export const refillObjects = kfunc('refill_objects', function* (x: Context, s: KmemCache, p: Obj[], gfp: Gfp, min: number, max: number): Gen<number> {
  if (WARN_ON_ONCE(x, !gfpflagsAllowSpinning(gfp), 'WARN_ON_ONCE(!gfpflags_allow_spinning(gfp))')) return 0;
  const local = numaMemId(x.k, x.cpu);
  let refilled = yield* __refillObjectsNode(x, s, p, gfp, min, max, s.node[local] ?? null, true);
  if (refilled >= min) return refilled;
  // __refill_objects_any(): nodes with more than min_partial slabs
  for (let node = 0; node < numa(x.k).nodes && refilled < min; node++) {
    const n = s.node[node] ?? null;
    if (!n || n.nr_partial <= s.min_partial) continue;
    refilled += yield* __refillObjectsNode(x, s, p, gfp, min - refilled, max - refilled, n, false);
  }
  if (refilled >= min) return refilled;
  for (;;) {
    const slab = yield* newSlab(x, s, gfp, local);
    if (!slab) return refilled;
    refilled += yield* allocFromNewSlab(x, s, slab, p, max - refilled, true);
    if (refilled >= min) return refilled;
  }
});

/** __kmem_cache_alloc_bulk(): all or nothing */
export const __kmemCacheAllocBulk = kfunc('__kmem_cache_alloc_bulk', function* (x: Context, s: KmemCache, gfp: Gfp, size: number, p: Obj[]): Gen<number> {
  const got: Obj[] = [];
  const i = yield* refillObjects(x, s, got, gfp, size, size);
  if (i < size) {
    if (got.length) yield* __kmemCacheFreeBulk(x, s, got);
    return 0;
  }
  p.push(...got);
  return i;
});
