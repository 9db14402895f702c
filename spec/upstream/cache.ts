// memalloc.c today: struct bpf_mem_cache, struct bpf_mem_caches and
// struct bpf_mem_alloc, the per-object cache hint, and the ops table the
// family's functions call each other through.
//
// Against seed 004 (spec/memalloc/cache.ts, which this extends):
//  - free_by_rcu / waiting_for_gp / rcu / call_rcu_in_progress now serve
//    bpf_mem_free_rcu(): objects wait there for a normal RCU grace period
//    (free_by_rcu_tail / waiting_for_gp_tail let __free_by_rcu() splice the
//    whole chain onto the target's free_by_rcu_ttrace);
//  - the tasks-trace path that seed 004 ran on free_by_rcu/waiting_for_gp
//    moved to free_by_rcu_ttrace / waiting_for_gp_ttrace / rcu_ttrace /
//    call_rcu_ttrace_in_progress, and free_by_rcu_ttrace is written by other
//    CPUs (c->tgt);
//  - free_llist_extra_rcu: bpf_mem_free_rcu() while 'active' is taken;
//  - draining: set by bpf_mem_alloc_destroy() so late callbacks free at once;
//  - tgt: the cache that allocated the object last freed here.
import { Cell } from '../kernel/atomic.ts';
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { LlistHead } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import { RcuHead } from '../kernel/rcupdate.ts';
import type { Aux } from '../kernel/slab.ts';
import type { Gen } from '../kernel/types.ts';
import type { Work } from '../kernel/workqueue.ts';
import { BpfMemAlloc, BpfMemCache, NUM_CACHES, PercpuCaches, SIZES } from '../memalloc/cache.ts';
import { Field, use, useLoc } from '../kernel/fields.ts';
import { registerObjectState } from '../kernel/obj.ts';
import { oops } from '../kernel/bug.ts';

export type Gfp = 'GFP_NOWAIT' | 'GFP_KERNEL';

/** struct bpf_mem_cache as upstream has it. */
export class BpfMemCacheUp extends BpfMemCache<UpstreamOps> {
  /** bool draining (READ_ONCE / WRITE_ONCE): 0 or 1 */
  readonly draining: Cell;
  private _tgt: BpfMemCacheUp;
  /** c->tgt as a step's target (a load or store of it); an ES private
   *  field, which the state key's walk of the cache does not see */
  readonly #tgtField = new Field(this, 'tgt');
  get tgtField(): Field {
    return this.#tgtField;
  }
  private _free_by_rcu_tail: Obj | null = null;
  private _waiting_for_gp_tail: Obj | null = null;
  // plain fields, read and written through fields.ts (NoUseAfterFree, and
  // a step's footprint)
  /** struct bpf_mem_cache *tgt: a plain pointer, written by unit_free() and
   *  unit_free_rcu(), read by free_bulk() and __free_by_rcu() */
  get tgt(): BpfMemCacheUp {
    use(this, 'tgt');
    return this._tgt;
  }
  set tgt(v: BpfMemCacheUp) {
    use(this, 'tgt', true);
    this._tgt = v;
  }
  /** the first node __llist_add()ed to an empty free_by_rcu */
  get free_by_rcu_tail(): Obj | null {
    use(this, 'free_by_rcu_tail');
    return this._free_by_rcu_tail;
  }
  set free_by_rcu_tail(v: Obj | null) {
    use(this, 'free_by_rcu_tail', true);
    this._free_by_rcu_tail = v;
  }
  get waiting_for_gp_tail(): Obj | null {
    use(this, 'waiting_for_gp_tail');
    return this._waiting_for_gp_tail;
  }
  set waiting_for_gp_tail(v: Obj | null) {
    use(this, 'waiting_for_gp_tail', true);
    this._waiting_for_gp_tail = v;
  }
  readonly free_llist_extra_rcu: LlistHead;
  readonly free_by_rcu_ttrace: LlistHead;
  readonly waiting_for_gp_ttrace: LlistHead;
  readonly rcu_ttrace: RcuHead;
  readonly call_rcu_ttrace_in_progress: Cell;

  constructor(
    name: string,
    cpu: number,
    unitSize: number,
    percpuSize: number,
    /** the family's functions; every cache of one allocator shares them */
    ops: UpstreamOps,
  ) {
    // the refill irq_work runs bpf_mem_refill() through the ops table
    super(name, cpu, unitSize, percpuSize, ops);
    this._tgt = this;
    this.draining = new Cell(this, 'draining');
    this.free_llist_extra_rcu = new LlistHead(this, 'free_llist_extra_rcu');
    this.free_by_rcu_ttrace = new LlistHead(this, 'free_by_rcu_ttrace');
    this.waiting_for_gp_ttrace = new LlistHead(this, 'waiting_for_gp_ttrace');
    this.rcu_ttrace = new RcuHead(this, 'rcu_ttrace');
    this.call_rcu_ttrace_in_progress = new Cell(this, 'call_rcu_ttrace_in_progress');
  }

  /** call_rcu_in_progress (free_by_rcu) and call_rcu_ttrace_in_progress */
  protected override inFlightCounters(): Cell[] {
    return [this.call_rcu_in_progress, this.call_rcu_ttrace_in_progress];
  }

  /** The seven lists an object can wait on, for the Conservation checks. */
  override register(k: Kernel): void {
    super.register(k);
    // bpf_mem_free_rcu()'d objects before their normal grace period
    k.register(this.free_llist_extra_rcu, this.holding('gp'));
    // alloc_bulk() takes objects back from both _ttrace lists before
    // their grace periods end: what they hold is reusable
    k.register(this.free_by_rcu_ttrace, this.holding('cache'));
    k.register(this.waiting_for_gp_ttrace, this.holding('cache'));
    k.cells.push(this.draining, this.call_rcu_ttrace_in_progress);
  }
}

// ---- the per-object cache hint ----
//
// unit_alloc() (and bpf_mem_cache_alloc_flags()'s GFP_KERNEL fallback)
// store the allocating cache in the object's first 8 bytes, which is the
// llist_node word the object had while it sat on free_llist:
// `*(struct bpf_mem_cache **)llnode = c`. unit_free() and unit_free_rcu()
// read it back into c->tgt, bpf_mem_free() and bpf_mem_free_rcu() pick the
// bucket from its unit_size. The model keeps the word's two meanings apart:
// Obj.next is the link, this map the hint. The hint is written only when the
// object has left every list (unit_alloc() pops it first) and read only
// while a program owns it; unit_free() takes it, since the next
// __llist_add() overwrites the word. A read without a hint is a use the C
// would make of a garbage pointer: an oops (NoKernelWarn), traced and saved.

const hints = new WeakMap<Obj, BpfMemCacheUp>();

/** `*(struct bpf_mem_cache **)llnode = c` */
export function setHint(obj: Obj, c: BpfMemCacheUp): void {
  useLoc(obj, true);
  hints.set(obj, c);
}

/** `*(struct bpf_mem_cache **)(ptr - LLIST_NODE_SZ)` */
export function hintOf(obj: Obj): BpfMemCacheUp {
  useLoc(obj);
  const c = hints.get(obj);
  // the word holds no cache pointer (the object never went through
  // unit_alloc(), or its hint was already taken): the C dereferences
  // garbage, an oops with the trace that led to it, not a model error
  if (!c) return oops(`${obj.name} carries no cache pointer in its header (${obj.state === 'slab' ? 'it was freed to slab' : 'never stored by unit_alloc()'}): the cache read from it is garbage`);
  return c;
}

/** The name of the cache obj's hint names, if it carries one: the
 *  exhaustive mode's state key (harness/statekey.ts) reads the hints here,
 *  since they live outside the policy's state. */
export function hintName(obj: Obj): string | null {
  return hints.get(obj)?.name ?? null;
}
registerObjectState(hintName);

/** The hint is read for the last time: the object is about to be linked,
 *  and its first word becomes llnode->next. */
export function takeHint(obj: Obj): BpfMemCacheUp {
  const c = hintOf(obj);
  useLoc(obj, true);
  hints.delete(obj);
  return c;
}

// ---- struct bpf_mem_alloc ----

/** struct bpf_mem_alloc with the family's ops. */
export class BpfMemAllocUp extends BpfMemAlloc<UpstreamOps> {
  declare ops: UpstreamOps;
  constructor(ops: UpstreamOps) {
    super();
    this.ops = ops;
  }
}

/** What teardown hands around: the allocator, or its kmemdup()ed copy. */
export interface MaUp {
  cache: PercpuCaches | null;
  caches: PercpuCaches | null;
  readonly ops: UpstreamOps;
}

/** The kmemdup()ed copy of struct bpf_mem_alloc that
 *  free_mem_alloc_deferred() frees (ma->work lives in it). */
export interface MaCopy extends MaUp {
  readonly aux: Aux;
  readonly work: Work;
}

/** The caches of a percpu allocation, typed as upstream caches. */
export function cachesOf(pc: PercpuCaches): BpfMemCacheUp[] {
  return pc.caches as BpfMemCacheUp[];
}

/** this_cpu_ptr(ma->cache) */
export function thisCpuCacheUp(x: Context, pc: PercpuCaches): BpfMemCacheUp {
  return pc.caches[x.cpu] as BpfMemCacheUp;
}

/** this_cpu_ptr(ma->caches)->cache + idx */
export function thisCpuBucketUp(x: Context, pc: PercpuCaches, idx: number): BpfMemCacheUp {
  return pc.caches[x.cpu * NUM_CACHES + idx] as BpfMemCacheUp;
}

/** `tgt = c->tgt`: a plain load (free_bulk(), __free_by_rcu()). */
export function* loadTgt(x: Context, c: BpfMemCacheUp): Gen<BpfMemCacheUp> {
  x.k.touch(x, c, 'tgt');
  const tgt = c.tgt;
  x.target = c.tgtField;
  yield `tgt = c->tgt (${tgt.name})`;
  return tgt;
}

export function cacheName(cpu: number, i: number | null): string {
  return i === null ? `c[cpu${cpu}]` : `c[cpu${cpu}][${SIZES[i]}]`;
}

// ---- the ops table ----
//
// Every call from one function of the family to another goes through
// c.ops (or ma.ops), so a variant replaces one function and keeps the rest:
// `{ ...upstreamOps, free_bulk: myFreeBulk }` (spec/upstream/ops.ts).

export interface UpstreamOps {
  // unit.ts
  inc_active(x: Context, c: BpfMemCacheUp): Gen<boolean>;
  dec_active(x: Context, c: BpfMemCacheUp, flags: boolean): Gen<void>;
  unit_alloc(x: Context, c: BpfMemCacheUp): Gen<Obj | null>;
  unit_free(x: Context, c: BpfMemCacheUp, llnode: Obj): Gen<void>;
  unit_free_rcu(x: Context, c: BpfMemCacheUp, llnode: Obj): Gen<void>;
  bpf_mem_alloc(x: Context, ma: MaUp & { percpu: boolean }, size: number): Gen<Obj | null>;
  bpf_mem_free(x: Context, ma: MaUp, ptr: Obj): Gen<void>;
  bpf_mem_free_rcu(x: Context, ma: MaUp, ptr: Obj): Gen<void>;
  bpf_mem_cache_alloc(x: Context, ma: MaUp): Gen<Obj | null>;
  bpf_mem_cache_free(x: Context, ma: MaUp, ptr: Obj): Gen<void>;
  bpf_mem_cache_free_rcu(x: Context, ma: MaUp, ptr: Obj): Gen<void>;
  bpf_mem_cache_raw_free(x: Context, ptr: Obj): Gen<void>;
  bpf_mem_cache_alloc_flags(x: Context, ma: MaUp, flags: Gfp): Gen<Obj | null>;
  // refill.ts
  __alloc(x: Context, c: BpfMemCacheUp, gfp: Gfp): Gen<Obj | null>;
  add_obj_to_free_list(x: Context, c: BpfMemCacheUp, obj: Obj): Gen<void>;
  alloc_bulk(x: Context, c: BpfMemCacheUp, cnt: number, atomic: boolean): Gen<void>;
  free_all(x: Context, c: BpfMemCacheUp, llnode: Obj | null): Gen<number>;
  enque_to_free(x: Context, c: BpfMemCacheUp, obj: Obj): Gen<void>;
  free_bulk(x: Context, c: BpfMemCacheUp): Gen<void>;
  check_free_by_rcu(x: Context, c: BpfMemCacheUp): Gen<void>;
  bpf_mem_refill(x: Context, c: BpfMemCacheUp): Gen<void>;
  irq_work_raise(x: Context, c: BpfMemCacheUp): Gen<void>;
  // rcu.ts
  __free_rcu(x: Context, c: BpfMemCacheUp): Gen<void>;
  __free_rcu_tasks_trace(x: Context, c: BpfMemCacheUp): Gen<void>;
  do_call_rcu_ttrace(x: Context, c: BpfMemCacheUp): Gen<void>;
  __free_by_rcu(x: Context, c: BpfMemCacheUp): Gen<void>;
  // destroy.ts
  drain_mem_cache(x: Context, c: BpfMemCacheUp): Gen<void>;
  check_mem_cache(x: Context, c: BpfMemCacheUp): Gen<void>;
  check_leaked_objs(x: Context, ma: MaUp): Gen<void>;
  free_mem_alloc_no_barrier(x: Context, ma: MaUp): Gen<void>;
  free_mem_alloc(x: Context, ma: MaUp): Gen<void>;
  free_mem_alloc_deferred(x: Context, copy: MaCopy): Gen<void>;
  destroy_mem_alloc(x: Context, ma: MaUp, rcuInProgress: number): Gen<void>;
  bpf_mem_alloc_destroy(x: Context, ma: MaUp): Gen<void>;
  // init.ts
  init_refill_work(x: Context, c: BpfMemCacheUp): void;
  prefill_mem_cache(x: Context, c: BpfMemCacheUp, cpu: number): Gen<void>;
  bpf_mem_alloc_percpu_init(x: Context, ma: BpfMemAllocUp): Gen<number>;
  bpf_mem_alloc_percpu_unit_init(x: Context, ma: BpfMemAllocUp, size: number): Gen<number>;
}
