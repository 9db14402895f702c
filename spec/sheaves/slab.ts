// mm/slub.c, slabs and the per-node lists: struct slab, struct
// kmem_cache_node (list_lock, partial, nr_partial, nr_slabs), the page
// allocator behind alloc_slab_page(), allocate_slab()/new_slab(),
// discard_slab()/free_slab(), add_partial()/remove_partial(), __slab_free()
// and __kmem_cache_free_bulk(). A slab's freelist is its free objects
// (state 'slab' in the engine); an object out of its slab is 'live'
// (owned, in a sheaf, on a deferred list, in a caller's hands).
//
// Elided: debug caches (free_to_partial_list(), alloc_single_*), kfence,
// KASAN, memcg and alloc tagging hooks (slab_free_hook() always lets the
// object go), freelist randomisation, SLAB_TYPESAFE_BY_RCU (no cache
// here has it), the higher-order fallback (one order per cache).
// build_detached_freelist()'s lookahead of 3 is elided too: objects are
// grouped by slab, which changes how many __slab_free() calls a bulk free
// makes, not where any object ends.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { maySpin } from '../kernel/nospin.ts';
import { NUMA_NO_NODE, pageNode } from '../kernel/numa.ts';
import { Obj } from '../kernel/obj.ts';
import { RawSpinlock } from '../kernel/spinlock.ts';
import { spinLockIrqsave, spinUnlockIrqrestore } from '../kernel/spinlock_rt.ts';
import { shared, Violation, type Gen, type Owner } from '../kernel/types.ts';
import { gfpflagsAllowSpinning, gfpPfmemallocAllowed, type Gfp } from './gfp.ts';
import type { KmemCache } from './pcs.ts';
import type { NodeBarn } from './barn.ts';

/** struct slab: one slab page of a cache. */
export class Slab {
  /** the free objects (slab->freelist), last = first to be handed out */
  readonly freelist: Obj[] = [];
  /** slab->inuse: objects out of the slab */
  inuse = 0;
  /** SL_partial */
  partial = false;
  /** the page went back to the page allocator */
  freed = false;
  /** bumped by every update of freelist and counters (cmpxchg_double) */
  version = 0;
  readonly objs: Obj[] = [];
  constructor(
    readonly cache: KmemCache,
    readonly id: number,
    /** slab_nid() */
    readonly node: number,
    /** SL_pfmemalloc: the page came from the memory reserves */
    readonly pfmemalloc: boolean,
  ) {}
  get name(): string {
    return `slab${this.id}`;
  }
  get objects(): number {
    return this.objs.length;
  }
}

/** virt_to_slab(): the slab of every object a sheaves cache made. */
const slabs = shared('sheavesSlabOf', () => new WeakMap<Obj, Slab>());
export function virtToSlab(o: Obj): Slab {
  const s = slabs.get(o);
  if (!s) throw new Error(`spec bug: ${o.name} is not a slab object`);
  return s;
}
export function slabNid(o: Obj): number {
  return virtToSlab(o).node;
}

/** struct kmem_cache_node */
export class KmemCacheNode implements Owner {
  freed = false;
  readonly name: string;
  readonly list_lock: RawSpinlock;
  /** n->partial, head first */
  readonly partial: Slab[] = [];
  /** atomic_long_t nr_slabs (CONFIG_SLUB_DEBUG) */
  nr_slabs = 0;
  constructor(
    cacheName: string,
    readonly node: number,
    public barn: NodeBarn | null,
  ) {
    this.name = `${cacheName}->node[${node}]`;
    this.list_lock = new RawSpinlock(this, 'list_lock', 'spinlock_t');
  }
  get nr_partial(): number {
    return this.partial.length;
  }
}

/** The page allocator the slabs come from, per modelled machine: pages
 *  counted in objects. Below the min watermark (the last half of the
 *  pool, at least a slab) only an allocation that may use the reserves
 *  (gfp_pfmemalloc_allowed()) gets a page, and that page is pfmemalloc. */
export class PageAllocator {
  /** objects in slab pages not yet freed */
  used = 0;
  slabs = 0;
  /** sheaves allocated so far (their names) */
  sheaves = 0;
  /** the last slab new_slab() made, and the step that made it (coverage) */
  newest: Slab | null = null;
  newestAt = -1;
  constructor(readonly k: Kernel) {}
  get reserve(): number {
    return Math.floor(this.k.cfg.maxObjects / 4);
  }
}
const pagers = shared('sheavesPages', () => new WeakMap<Kernel, PageAllocator>());
export function pageAllocator(k: Kernel): PageAllocator {
  let p = pagers.get(k);
  if (!p) pagers.set(k, (p = new PageAllocator(k)));
  return p;
}

/** alloc_slab_page() + allocate_slab() (new_slab()): one step. allow_spin
 *  false is alloc_frozen_pages_nolock(). NULL on an armed 'kmalloc' fault
 *  (the page allocator fails as kmalloc does) or below the watermark. */
export const newSlab = kfunc('new_slab', function* (x: Context, s: KmemCache, gfp: Gfp, node: number): Gen<Slab | null> {
  const k = x.k;
  const allowSpin = gfpflagsAllowSpinning(gfp);
  if (allowSpin) maySpin(x, 'alloc_frozen_pages()');
  const pages = pageAllocator(k);
  const per = s.oo_objects;
  let slab: Slab | null = null;
  let pfmemalloc = false;
  let ok = !k.slab.fails('kmalloc');
  if (ok && pages.used + per > k.cfg.maxObjects - pages.reserve) {
    // below the min watermark: only the reserves are left
    ok = allowSpin && gfpPfmemallocAllowed(gfp) && pages.used + per <= k.cfg.maxObjects;
    pfmemalloc = ok;
    if (!ok) k.slab.exhausted++;
  }
  if (ok) {
    const nid = pageNode(k, x.cpu, node);
    slab = new Slab(s, pages.slabs++, nid, pfmemalloc);
    pages.used += per;
    s.slabs.add(slab);
    pages.newest = slab;
    pages.newestAt = k.steps + 1;
    for (let i = 0; i < per; i++) {
      const o = new Obj(k.slab.created++, s.size);
      o.state = 'slab';
      k.slab.all.push(o);
      slabs.set(o, slab);
      slab.objs.push(o);
    }
    // the freelist runs from the first object: hand out objs[0] first
    for (let i = per - 1; i >= 0; i--) slab.freelist.push(slab.objs[i]!);
  }
  x.touched = 'pages';
  yield x.k.labels ? `${allowSpin ? 'alloc_frozen_pages' : 'alloc_frozen_pages_nolock'}(${node === NUMA_NO_NODE ? 'NUMA_NO_NODE' : `node ${node}`}) = ${slab ? `${slab.name} (node ${slab.node}${pfmemalloc ? ', pfmemalloc' : ''}, ${per} objects)` : 'NULL'}` : '';
  return slab;
});

/** __free_slab(): the page goes back (no step of its own: the caller's). */
export function __freeSlab(x: Context, s: KmemCache, slab: Slab): void {
  if (slab.freed) throw new Violation('NoKernelWarn', `${x.fn} on cpu${x.cpu} frees ${slab.name} of ${s.name} twice`);
  if (slab.inuse !== 0 || slab.freelist.length !== slab.objects) {
    throw new Violation('Conservation', `${x.fn} on cpu${x.cpu} frees ${slab.name} of ${s.name} with ${slab.objects - slab.freelist.length} object(s) out of it (inuse ${slab.inuse})`);
  }
  slab.freed = true;
  s.slabs.delete(slab);
  const pages = pageAllocator(x.k);
  pages.used -= slab.objects;
}

/** free_new_slab_nolock(): a slab just allocated and never counted goes
 *  back (SheavesOps.free_new_slab_nolock). */
export const freeNewSlabNolock = kfunc('free_new_slab_nolock', function* (x: Context, s: KmemCache, slab: Slab): Gen<void> {
  __freeSlab(x, s, slab);
  x.touched = 'pages';
  yield x.k.labels ? `__free_slab(${slab.name}, allow_spin = false)` : '';
});

export function incSlabsNode(s: KmemCache, node: number): void {
  const n = s.node[node];
  if (n) n.nr_slabs++;
}

/** discard_slab(): dec_slabs_node() and free_slab(). */
export function* discardSlab(x: Context, s: KmemCache, slab: Slab): Gen<void> {
  const n = s.node[slab.node];
  if (n) n.nr_slabs--;
  __freeSlab(x, s, slab);
  x.touched = 'pages';
  yield x.k.labels ? `discard_slab(${slab.name})` : '';
}

/** add_partial() under n->list_lock (lockdep_assert_held). */
export function addPartial(x: Context, n: KmemCacheNode, slab: Slab, tail: boolean): void {
  held(x, n, 'add_partial');
  if (tail) n.partial.push(slab);
  else n.partial.unshift(slab);
  slab.partial = true;
}

export function removePartial(x: Context, n: KmemCacheNode, slab: Slab): void {
  held(x, n, 'remove_partial');
  const i = n.partial.indexOf(slab);
  if (i < 0) throw new Violation('NoKernelWarn', `list_del of ${slab.name} not on ${n.name}.partial in ${x.fn}`);
  n.partial.splice(i, 1);
  slab.partial = false;
}

function held(x: Context, n: KmemCacheNode, what: string): void {
  if (n.list_lock.holder !== x) {
    throw new Violation('NoKernelWarn', `lockdep_assert_held(&${n.name}->list_lock) in ${what} by ${x.label} on cpu${x.cpu} (${x.fn})`);
  }
}

/** An object leaves its slab's freelist for x. */
export function takeFromSlab(x: Context, slab: Slab): Obj {
  const o = slab.freelist.pop()!;
  o.state = 'live';
  o.next = null;
  slab.inuse++;
  slab.version++;
  x.k.slab.live++;
  if (x.k.slab.live > x.k.slab.peakLive) x.k.slab.peakLive = x.k.slab.live;
  return o;
}

/** __slab_free(s, slab, head, tail, cnt): the lockless cmpxchg of the
 *  freelist and counters, with the list_lock taken speculatively when the
 *  slab becomes empty or stops being full. */
export const __slabFree = kfunc('__slab_free', function* (x: Context, s: KmemCache, slab: Slab, objs: readonly Obj[]): Gen<void> {
  let n: KmemCacheNode | null = null;
  let flags = false;
  let wasFull = false;
  let newInuse = 0;
  let onNodePartial = false;
  for (;;) {
    if (n) {
      yield* spinUnlockIrqrestore(x, n.list_lock, flags);
      n = null;
    }
    // old.freelist = slab->freelist; old.counters = slab->counters
    const seen = slab.version;
    wasFull = slab.freelist.length === 0;
    newInuse = slab.inuse - objs.length;
    x.touched = slab.name;
    yield x.k.labels ? `old = ${slab.name}->{freelist, counters} (inuse ${slab.inuse}${wasFull ? ', full' : ''})` : '';
    if (newInuse === 0 || wasFull) {
      n = s.node[slab.node]!;
      flags = yield* spinLockIrqsave(x, n.list_lock);
      onNodePartial = slab.partial;
    }
    // slab_update_freelist(): cmpxchg_double
    x.touched = slab.name;
    if (slab.version === seen) {
      for (const o of objs) {
        if (o.state === 'slab') throw new Violation('Conservation', `${x.fn} on cpu${x.cpu} (${x.label}) frees ${o.name} to ${slab.name}, but it is already free (double free)`);
        x.k.observer?.kfree(x, o);
        o.state = 'slab';
        o.next = null;
        slab.freelist.push(o);
        x.k.slab.live--;
      }
      slab.inuse = newInuse;
      slab.version++;
      x.obj = objs[0]!;
      x.act = 'to slab';
      yield x.k.labels ? `slab_update_freelist(${slab.name}): ${objs.map((o) => o.name).join(' ')} freed, inuse ${newInuse}` : '';
      break;
    }
    yield x.k.labels ? `slab_update_freelist(${slab.name}): changed, retry` : '';
  }
  if (!n) return;
  if (!wasFull && !onNodePartial) {
    yield* spinUnlockIrqrestore(x, n.list_lock, flags);
    return;
  }
  if (newInuse === 0 && n.nr_partial >= s.min_partial) {
    // slab_empty:
    if (!wasFull) removePartial(x, n, slab);
    yield* spinUnlockIrqrestore(x, n.list_lock, flags);
    yield* discardSlab(x, s, slab);
    return;
  }
  if (wasFull) addPartial(x, n, slab, true);
  yield* spinUnlockIrqrestore(x, n.list_lock, flags);
});

/** __kmem_cache_free_bulk(): straight to the slabs, one __slab_free() per
 *  slab (build_detached_freelist(), from the end of p). */
export const __kmemCacheFreeBulk = kfunc('__kmem_cache_free_bulk', function* (x: Context, s: KmemCache, p: readonly Obj[]): Gen<void> {
  const groups = new Map<Slab, Obj[]>();
  for (let i = p.length - 1; i >= 0; i--) {
    const slab = virtToSlab(p[i]!);
    let g = groups.get(slab);
    if (!g) groups.set(slab, (g = []));
    g.push(p[i]!);
  }
  for (const [slab, objs] of groups) yield* __slabFree(x, s, slab, objs);
});

/** free_partial(): at shutdown, discard every empty partial slab; a slab
 *  with objects out is reported (list_slab_objects()) and stays. */
export const freePartial = kfunc('free_partial', function* (x: Context, s: KmemCache, n: KmemCacheNode): Gen<void> {
  const flags = yield* spinLockIrqsave(x, n.list_lock);
  const discard: Slab[] = [];
  for (const slab of [...n.partial]) {
    if (!slab.inuse) {
      removePartial(x, n, slab);
      discard.push(slab);
    }
  }
  x.touched = `${n.name}.partial`;
  yield x.k.labels ? `free_partial: ${discard.length} empty slab(s) off ${n.name}.partial` : '';
  yield* spinUnlockIrqrestore(x, n.list_lock, flags);
  for (const slab of discard) yield* discardSlab(x, s, slab);
});
