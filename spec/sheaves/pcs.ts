// mm/slub.c: struct slab_sheaf, struct slub_percpu_sheaves (lock, main,
// spare, rcu_free), the parts of struct kmem_cache the sheaves read, and
// the sheaf helpers: __alloc_empty_sheaf(), free_empty_sheaf(),
// refill_sheaf(), alloc_full_sheaf(), sheaf_flush_main(),
// sheaf_flush_unused() (the size arithmetic: sizes.ts).
//
// Under cpu_sheaves->lock nothing else on the CPU touches the sheaves (an
// interrupt's local_trylock() fails; on RT a preempting task's does), so
// the statements one lock hold makes are one step; every lock and unlock,
// every barn and slab operation is its own.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Holder, Kernel } from '../kernel/kernel.ts';
import { LocalTrylock, localLock, localTrylock, localUnlock } from '../kernel/local_lock.ts';
import { mightSleep } from '../kernel/might_sleep.ts';
import { maySpin } from '../kernel/nospin.ts';
import { links, type Obj } from '../kernel/obj.ts';
import { RcuHead } from '../kernel/rcupdate.ts';
import { Violation, type Gen, type Owner } from '../kernel/types.ts';
import { __GFP_NOMEMALLOC, gfpflagsAllowBlocking, type Gfp } from './gfp.ts';
import { sheavesOps, type SheavesOps } from './ops.ts';
import { __kmemCacheFreeBulk, pageAllocator, type KmemCacheNode, type Slab } from './slab.ts';
import { calculateOrder, calculateSheafCapacity, orderObjects } from './sizes.ts';

/** PCS_BATCH_MAX: on-stack batch of sheaf_flush_main(), free_to_pcs_bulk() */
export const PCS_BATCH_MAX = 32;
export const MAX_FULL_SHEAVES = 10;
export const MAX_EMPTY_SHEAVES = 10;

/** struct slab_sheaf. A Holder: its objects[0..size) are linked through
 *  their free pointer when walked, so Conservation sees them. Tracked:
 *  every change of objects[0..size) bumps links.version. */
export class SlabSheaf implements Owner, Holder {
  readonly tracked = true;
  freed = false;
  readonly name: string;
  readonly objects: (Obj | null)[];
  size = 0;
  /** rcu_sheaf only: numa_mem_id() when it was submitted */
  node = -1;
  /** prefilled sheaves only (kmem_cache_prefill_sheaf(), elided) */
  pfmemalloc = false;
  readonly rcu_head: RcuHead;
  constructor(
    readonly cache: KmemCache,
    readonly capacity: number,
    id: number,
  ) {
    this.name = `sheaf${id}`;
    this.objects = new Array<Obj | null>(capacity).fill(null);
    this.rcu_head = new RcuHead(this, 'rcu_head');
  }
  head(): Obj | null {
    const n = this.size;
    for (let i = 0; i < n; i++) {
      const o = this.objects[i]!;
      const nx = i + 1 < n ? this.objects[i + 1]! : null;
      if (o.next !== nx) o.next = nx;
    }
    return n ? this.objects[0]! : null;
  }
}

/** struct slub_percpu_sheaves of one CPU */
export class SlubPercpuSheaves implements Owner {
  freed = false;
  readonly name: string;
  readonly lock: LocalTrylock;
  /** never NULL when unlocked (MainSheafPresent) */
  main: SlabSheaf | null = null;
  spare: SlabSheaf | null = null;
  rcu_free: SlabSheaf | null = null;
  constructor(
    readonly cache: KmemCache,
    readonly cpu: number,
  ) {
    this.name = `${cache.name}->cpu_sheaves[cpu${cpu}]`;
    this.lock = new LocalTrylock(this, 'lock');
  }
}

/** The parts of struct kmem_cache these paths read. */
export class KmemCache implements Owner {
  freed = false;
  readonly size: number;
  /** oo_objects(s->oo): objects per slab */
  readonly oo_objects: number;
  readonly sheaf_capacity: number;
  readonly min_partial: number;
  /** MAX_FULL_SHEAVES / MAX_EMPTY_SHEAVES as this cache sees them: 10 in
   *  the source; a policy whose pool is small scales them down so the
   *  limits are reachable (spec/policies/slub-sheaves.ts says by how much) */
  max_full_sheaves = MAX_FULL_SHEAVES;
  max_empty_sheaves = MAX_EMPTY_SHEAVES;
  cpu_sheaves: SlubPercpuSheaves[] | null = null;
  readonly node: (KmemCacheNode | null)[] = [];
  refcount = 1;
  /** every sheaf allocated and not yet freed (the model's audit) */
  readonly sheaves = new Set<SlabSheaf>();
  /** every slab allocated and not yet freed (the model's audit) */
  readonly slabs = new Set<Slab>();
  /** the model's judgements the code asks for (model/sheaves.ts), set by
   *  the policy; not a field of the kernel's struct */
  judge: SheavesJudge | null = null;
  /**
   * @param ops not a field of the kernel's struct: the functions a variant
   *   may replace (spec/sheaves/ops.ts), carried by the cache
   */
  constructor(
    readonly k: Kernel,
    readonly name: string,
    readonly object_size: number,
    readonly ops: SheavesOps = sheavesOps(),
  ) {
    this.size = Math.ceil(object_size / 8) * 8;
    this.oo_objects = orderObjects(calculateOrder(this.size, k.cfg.cpus), this.size);
    this.sheaf_capacity = calculateSheafCapacity(this.size);
    this.min_partial = Math.min(10, Math.max(5, Math.floor(Math.log2(this.size) / 2)));
  }
}

/** cache_has_sheaves(): the cache's sheaves are not the bootstrap sheaf */
export function cacheHasSheaves(s: KmemCache): boolean {
  return s.sheaf_capacity !== 0 && s.cpu_sheaves !== null;
}

/** this_cpu_ptr(s->cpu_sheaves) */
export function thisCpuPcs(x: Context, s: KmemCache): SlubPercpuSheaves {
  x.k.touch(x, s, 'cpu_sheaves');
  return s.cpu_sheaves![x.cpu]!;
}

/** local_trylock(&s->cpu_sheaves->lock): the CPU's pcs, or NULL */
export function* pcsTrylock(x: Context, s: KmemCache): Gen<SlubPercpuSheaves | null> {
  const pcs = thisCpuPcs(x, s);
  return (yield* localTrylock(x, pcs.lock)) ? pcs : null;
}

/** local_lock(&s->cpu_sheaves->lock) */
export function* pcsLock(x: Context, s: KmemCache): Gen<SlubPercpuSheaves> {
  const pcs = thisCpuPcs(x, s);
  yield* localLock(x, pcs.lock);
  return pcs;
}

/** local_unlock(&s->cpu_sheaves->lock): main may not be left NULL */
export function* pcsUnlock(x: Context, s: KmemCache): Gen<void> {
  const pcs = thisCpuPcs(x, s);
  if (pcs.main === null) throw new Violation('MainSheafPresent', `${x.fn} on cpu${x.cpu} (${x.label}) unlocks ${pcs.name} with main == NULL`);
  yield* localUnlock(x, pcs.lock);
}

/** Read or write a sheaf: a freed one is a use after free. */
export function touchSheaf(x: Context, sh: SlabSheaf, what = 'objects'): void {
  x.k.touch(x, sh, what);
  x.touched = sh.name;
}

/** __alloc_empty_sheaf(s, gfp, capacity): kzalloc() of the sheaf. */
export const __allocEmptySheaf = kfunc('__alloc_empty_sheaf', function* (x: Context, s: KmemCache, gfp: Gfp, capacity: number): Gen<SlabSheaf | null> {
  maySpin(x, 'kzalloc(sheaf)');
  if (gfpflagsAllowBlocking(gfp)) mightSleep(x, 'kzalloc(sheaf, GFP_KERNEL)');
  const sh = x.k.slab.fails('kmalloc') ? null : newSheaf(x.k, s, capacity);
  x.touched = 'slab';
  yield x.k.labels ? `kzalloc(struct_size(sheaf, objects, ${capacity})) = ${sh ? sh.name : 'NULL'}` : '';
  return sh;
});

export function newSheaf(k: Kernel, s: KmemCache, capacity: number): SlabSheaf {
  const sh = new SlabSheaf(s, capacity, pageAllocator(k).sheaves++);
  k.slab.structs.add(sh);
  k.register(sh);
  s.sheaves.add(sh);
  return sh;
}

export function* allocEmptySheaf(x: Context, s: KmemCache, gfp: Gfp): Gen<SlabSheaf | null> {
  return yield* __allocEmptySheaf(x, s, gfp, s.sheaf_capacity);
}

/** free_empty_sheaf(): kfree(sheaf). Objects still in it are lost at
 *  this step (Conservation, judged here rather than at the next
 *  quiescent point). */
export const freeEmptySheaf = kfunc('free_empty_sheaf', function* (x: Context, s: KmemCache, sh: SlabSheaf): Gen<void> {
  touchSheaf(x, sh, 'kfree');
  if (sh.size > 0) {
    const lost = sh.objects.slice(0, sh.size).map((o) => o!.name).join(' ');
    throw new Violation('Conservation', `${x.fn} on cpu${x.cpu} (${x.label}) frees ${sh.name} with ${sh.size} object(s) still in it: ${lost} lost`);
  }
  sh.freed = true;
  x.k.slab.structs.delete(sh);
  x.k.unregister(sh);
  s.sheaves.delete(sh);
  links.version++;
  yield x.k.labels ? `kfree(${sh.name})` : '';
});

/** refill_sheaf(): fill to capacity; -ENOMEM when short (what it got
 *  stays in the sheaf). */
export const refillSheaf = kfunc('refill_sheaf', function* (x: Context, s: KmemCache, sh: SlabSheaf, gfp: Gfp): Gen<number> {
  const toFill = s.sheaf_capacity - sh.size;
  if (!toFill) return 0;
  const p: Obj[] = [];
  const filled = yield* s.ops.refill_objects(x, s, p, gfp, toFill, toFill);
  touchSheaf(x, sh);
  for (const o of p) sh.objects[sh.size++] = o;
  links.version++;
  yield x.k.labels ? `${sh.name}->size += ${filled} (${sh.size})` : '';
  return filled < toFill ? -12 : 0;
});

/** alloc_full_sheaf() */
export const allocFullSheaf = kfunc('alloc_full_sheaf', function* (x: Context, s: KmemCache, gfp: Gfp): Gen<SlabSheaf | null> {
  const sh = yield* allocEmptySheaf(x, s, gfp);
  if (!sh) return null;
  if (yield* refillSheaf(x, s, sh, gfp | __GFP_NOMEMALLOC)) {
    // free_empty_sheaf() of a partly filled sheaf, as written
    yield* s.ops.free_unfilled_sheaf(x, s, sh);
    return null;
  }
  return sh;
});

/** sheaf_flush_main(): empty this CPU's main sheaf to the slabs, batch by
 *  batch outside the lock; true if it flushed at least one batch. */
export const sheafFlushMain = kfunc('sheaf_flush_main', function* (x: Context, s: KmemCache): Gen<boolean> {
  let ret = false;
  for (;;) {
    const pcs = yield* pcsTrylock(x, s);
    if (!pcs) return ret;
    const sh = pcs.main!;
    touchSheaf(x, sh);
    const batch = Math.min(PCS_BATCH_MAX, sh.size);
    sh.size -= batch;
    const objects = sh.objects.slice(sh.size, sh.size + batch) as Obj[];
    for (let i = sh.size; i < sh.size + batch; i++) sh.objects[i] = null;
    const remaining = sh.size;
    links.version++;
    yield x.k.labels ? `${sh.name}->size -= ${batch}: ${objects.map((o) => o.name).join(' ')} to objects[]` : '';
    yield* pcsUnlock(x, s);
    yield* __kmemCacheFreeBulk(x, s, objects);
    ret = true;
    if (!remaining) return ret;
  }
});

/** sheaf_flush_unused(): a sheaf no CPU holds, no lock needed. The C
 *  frees objects[] and then sets size = 0; nobody else sees the sheaf, so
 *  the model empties it first: its slots no longer hold the objects once
 *  __kmem_cache_free_bulk() has them (they may be handed out again before
 *  it returns). */
export const sheafFlushUnused = kfunc('sheaf_flush_unused', function* (x: Context, s: KmemCache, sh: SlabSheaf): Gen<void> {
  touchSheaf(x, sh);
  if (!sh.size) return;
  const objs = sh.objects.slice(0, sh.size) as Obj[];
  sh.objects.fill(null);
  sh.size = 0;
  links.version++;
  yield* __kmemCacheFreeBulk(x, s, objs);
});

/** What the code tells the model where an invariant is judged at a point
 *  of the code rather than at quiescence (model/sheaves.ts implements it). */
export interface SheavesJudge {
  /** an allocation with gfp returns obj (PfmemallocOnlyToReserves) */
  allocated(x: Context, s: KmemCache, obj: Obj, gfp: Gfp): void;
  /** kvfree_call_rcu() took obj / returned: a barrier that begins after
   *  the return must wait for obj's callback */
  kfreeRcu(x: Context, s: KmemCache, obj: Obj): void;
  kfreeRcuReturned(x: Context, s: KmemCache, obj: Obj): void;
  /** the RCU callback that waited for objs ran */
  rcuDone(objs: readonly Obj[]): void;
  /** kvfree_rcu_barrier_on_cache() begins / returns */
  barrierBegin(x: Context, s: KmemCache): void;
  barrierEnd(x: Context, s: KmemCache): void;
  /** kmem_cache_destroy(): __kmem_cache_shutdown() returned */
  shutDown(x: Context, s: KmemCache): void;
}

