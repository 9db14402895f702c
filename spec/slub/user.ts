// The cache's user: a BPF map whose programs read elements under RCU (and
// RCU tasks trace when sleepable). Slab gives no grace period of its own,
// so the map frees elements only after both, as htab does with
// call_rcu_tasks_trace() chained to call_rcu(), and waits for those
// callbacks with the barriers before kmem_cache_destroy().
//
// Frees are batched the way kvfree_rcu() batches pointers: the elements one
// program frees share one rcu_head, and the last callback gives them back
// together, with kmem_cache_free_bulk() (as kvfree_rcu()'s kfree_bulk()) or
// one kmem_cache_free() each. A batch stays open only for the context that
// opened it: every element it takes was unlinked when that program started
// (the harness unlinks a program's objects then), so before the call_rcu*()
// that the first free queued, and the grace periods cover them all.
//
// Slab is not NMI-safe, and neither is call_rcu*(): an NMI program's free
// goes on a per-CPU llist and an irq_work (hardirq; the irq_work kthread on
// PREEMPT_RT) hands the collected elements to the RCU batch. The same
// irq_work keeps a small per-CPU reserve of elements for NMI programs,
// refilled from the interrupt with GFP_ATOMIC (kmem_cache_alloc() or
// kmem_cache_alloc_bulk()), as memalloc.c's bpf_mem_refill() does over slab.
// An NMI program takes from the reserve (the NMI is its only consumer on
// its CPU: NMIs do not nest); when it is empty the program still calls slab
// itself, because the harness starts NMI programs for every bpf-called
// policy and the saved counterexamples count on it (a Policy declaration
// that a design's callers never run in NMI would retire that path).
import { report } from '../kernel/events.ts';
import type { Context } from '../kernel/context.ts';
import { initIrqWork, irqWorkQueue, irqWorkSync, IrqWork } from '../kernel/irq_work.ts';
import type { Holder, Kernel } from '../kernel/kernel.ts';
import { __llistDelFirst, eachSafe, llistAdd, llistDelAll, llistEmpty, LlistHead } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import { callRcu, callRcuTasksTrace, rcuBarrier, rcuBarrierTasksTrace, RcuHead } from '../kernel/rcupdate.ts';
import { type Gen, type Owner } from '../kernel/types.ts';
import { kmemCacheAlloc, kmemCacheAllocBulk } from './alloc.ts';
import { kmemCacheDestroy, kmemCacheFree, kmemCacheFreeBulk } from './free.ts';
import type { KmemCache } from './pca.ts';

/** Elements whose RCU callbacks are queued: a Holder, so Conservation
 *  counts them as in flight rather than lost. */
export class RcuPending implements Holder {
  readonly name = 'elems waiting for RCU';
  readonly elems = new Set<Obj>();
  /** the batch a context is filling, until its first callback runs */
  readonly open = new Map<Context, Obj[]>();
  head(): Obj | null {
    let prev: Obj | null = null;
    let first: Obj | null = null;
    for (const o of this.elems) {
      if (prev) prev.next = o;
      else first = o;
      prev = o;
    }
    if (prev) prev.next = null;
    return first;
  }
}

export function rcuPending(k: Kernel): RcuPending {
  const p = new RcuPending();
  k.register(p);
  return p;
}

export type SlabFree = (x: Context, s: KmemCache, obj: Obj) => Gen<void>;

/** The free itself once readers are gone: kmem_cache_free(), or a bulk
 *  free of one for odd ids, so both paths into the array run. */
export function* elemFreeNow(x: Context, s: KmemCache, obj: Obj, free: SlabFree = kmemCacheFree): Gen<void> {
  if (obj.id % 2) yield* kmemCacheFreeBulk(x, s, [obj]);
  else yield* free(x, s, obj);
}

/** A batch once readers are gone: one element as elemFreeNow(); several
 *  with one kmem_cache_free_bulk() (kvfree_rcu()'s kfree_bulk()) when the
 *  first id is odd, else one kmem_cache_free() each. */
export function* elemsFreeNow(x: Context, s: KmemCache, pending: RcuPending, objs: readonly Obj[], free: SlabFree = kmemCacheFree): Gen<void> {
  if (objs.length === 1 || !(objs[0]!.id % 2)) {
    for (const o of objs) {
      pending.elems.delete(o);
      if (objs.length === 1) yield* elemFreeNow(x, s, o, free);
      else yield* free(x, s, o);
    }
    return;
  }
  for (const o of objs) pending.elems.delete(o);
  yield* kmemCacheFreeBulk(x, s, objs);
}

/** Free an element after an RCU tasks trace and a normal grace period:
 *  into x's open batch, or a new batch whose rcu_head it queues. */
export function* elemFreeRcu(x: Context, s: KmemCache, pending: RcuPending, obj: Obj, free?: SlabFree): Gen<void> {
  pending.elems.add(obj);
  const open = pending.open.get(x);
  if (open) {
    open.push(obj);
    x.obj = obj;
    x.act = 'put on list';
    x.touched = pending.name;
    yield x.k.labels ? `batch ${open[0]!.name}.rcu += ${obj.name}` : '';
    return;
  }
  const batch = [obj];
  pending.open.set(x, batch);
  const rcu = new RcuHead(s, `${obj.name}.rcu`);
  const done = function* (y: Context): Gen<void> {
    yield* elemsFreeNow(y, s, pending, batch, free);
  };
  yield* callRcuTasksTrace(x, rcu, function* (y) {
    // the batch is closed from here on: later frees start another
    if (pending.open.get(x) === batch) pending.open.delete(x);
    if (y.k.cfg.rcuTraceImpliesRcuGp) yield* done(y);
    else yield* callRcu(y, rcu, done, 'elem_free_rcu');
  }, 'elem_free_rcu_tasks_trace');
}

/** kmem_cache_alloc_bulk() as its callers use it: 0 is failure, else
 *  they use the p[0..returned) it says it wrote, so an entry it never
 *  wrote is a pointer to nothing the caller now owns (judged as
 *  Conservation). */
export function* allocBulkAll(x: Context, s: KmemCache, n: number, allocBulk: typeof kmemCacheAllocBulk = kmemCacheAllocBulk): Gen<Obj[] | null> {
  const p: Obj[] = [];
  const got = yield* allocBulk(x, s, n, p);
  if (!got) return null;
  for (let i = 0; i < got; i++) {
    if (!p[i]) report('slot-misuse', `${x.fn} on cpu${x.cpu} (${x.label}): kmem_cache_alloc_bulk(${n}) returned ${got} but never wrote p[${i}]`);
  }
  return p.slice(0, got);
}

/** Elements kept for NMI programs: per-CPU reserve and the NMI frees
 *  waiting for the irq_work (see the head of this file). */
export const NMI_RESERVE_MAX = 3;

export class NmiSide implements Owner {
  freed = false;
  readonly name = 'map';
  readonly reserve: LlistHead[] = [];
  readonly deferred: LlistHead[] = [];
  readonly work: IrqWork[] = [];
  /** the slab free each deferred element was freed with (zoo variants) */
  readonly frees = new Map<Obj, SlabFree | undefined>();
  /** refills so far: they take turns between 1, 2 and 3 elements */
  refills = 0;
  constructor(
    k: Kernel,
    readonly s: KmemCache,
    readonly pending: RcuPending,
    readonly allocBulk: typeof kmemCacheAllocBulk = kmemCacheAllocBulk,
  ) {
    for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
      const r = new LlistHead(this, `nmi_reserve[cpu${cpu}]`);
      const d = new LlistHead(this, `nmi_freed[cpu${cpu}]`);
      k.register(r);
      k.register(d);
      this.reserve.push(r);
      this.deferred.push(d);
      const w = new IrqWork(this, `nmi_work[cpu${cpu}]`, (y) => nmiWork(y, this), 'map_nmi_work');
      initIrqWork(null, w);
      this.work.push(w);
    }
  }
}

/** The irq_work: hand the NMI frees to one RCU batch, then refill an
 *  empty reserve with GFP_ATOMIC. */
function* nmiWork(x: Context, n: NmiSide): Gen<void> {
  const first = yield* llistDelAll(x, n.deferred[x.cpu]!);
  for (const o of eachSafe(x, first)) {
    const free = n.frees.get(o);
    n.frees.delete(o);
    yield* elemFreeRcu(x, n.s, n.pending, o, free);
  }
  if (!(yield* llistEmpty(x, n.reserve[x.cpu]!))) return;
  const want = 1 + (n.refills++ % NMI_RESERVE_MAX);
  const got: Obj[] = [];
  if (want === 1) {
    const o = yield* kmemCacheAlloc(x, n.s, 'GFP_ATOMIC');
    if (o) got.push(o);
  } else got.push(...((yield* allocBulkAll(x, n.s, want, n.allocBulk)) ?? []));
  for (const o of got) yield* llistAdd(x, o, n.reserve[x.cpu]!);
}

/** An NMI program's allocation: from this CPU's reserve, or null when it
 *  is empty (the irq_work is asked to refill it). */
export function* nmiTake(x: Context, n: NmiSide): Gen<Obj | null> {
  // llist_del_first(): the NMI is the reserve's only consumer on its CPU
  const o = yield* __llistDelFirst(x, n.reserve[x.cpu]!);
  if (!o) yield* irqWorkQueue(x, n.work[x.cpu]!);
  return o;
}

/** An NMI program's free: llist_add() and the irq_work, never call_rcu. */
export function* nmiFree(x: Context, n: NmiSide, obj: Obj, free?: SlabFree): Gen<void> {
  n.frees.set(obj, free);
  yield* llistAdd(x, obj, n.deferred[x.cpu]!);
  yield* irqWorkQueue(x, n.work[x.cpu]!);
}

/** Teardown's part: wait for every CPU's irq_work, then give the
 *  reserves back with kmem_cache_free_bulk() (never seen by a reader). */
export function* nmiSideDrain(x: Context, n: NmiSide): Gen<void> {
  for (const w of n.work) yield* irqWorkSync(x, w);
  for (const r of n.reserve) {
    const objs = [...eachSafe(x, yield* llistDelAll(x, r))];
    if (objs.length) yield* kmemCacheFreeBulk(x, n.s, objs);
  }
}

/** Map teardown: the NMI side's irq_work and reserve, then wait for the
 *  element callbacks, then destroy the cache. */
export function* mapDestroy(x: Context, s: KmemCache, destroy: (x: Context, s: KmemCache) => Gen<void> = kmemCacheDestroy, nmi?: NmiSide): Gen<void> {
  if (nmi) yield* nmiSideDrain(x, nmi);
  yield* rcuBarrierTasksTrace(x);
  yield* rcuBarrier(x);
  yield* destroy(x, s);
}
