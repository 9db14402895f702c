// kernel/bpf/hashtab.c as of v6.0 (seed 001's flavour (1), "no bpf memory
// allocator"): a non-preallocated map kmalloc()s each element with
// GFP_NOWAIT in alloc_htab_elem() (a per-CPU map also
// __alloc_percpu_gfp()s the value), free_htab_elem() queues
// htab_elem_free_rcu() with call_rcu(), and htab_map_free() waits for the
// callbacks with rcu_barrier(). No per-CPU cache, no watermarks, no
// irq_work: every free waits for its own grace period.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { AllocOptions } from '../policies/policy.ts';
import { freeHtabElem, HtabRcuFree, htabMapFreeBarrier } from './elem.ts';

/** the part of a per-CPU map's element that holds the value's per-CPU
 *  pointer (the model's stand-in for key + pointer) */
const PCPU_ELEM = 16;

export interface HtabKmalloc {
  /** the element size (0: each program's request, size buckets) */
  readonly size: number;
  readonly percpu: boolean;
  readonly rcuFree: HtabRcuFree;
}

/** htab_map_alloc() for a non-preallocated map: nothing to prefill. */
export function htabKmallocInit(k: Kernel, opts: AllocOptions): HtabKmalloc {
  return { size: opts.size, percpu: opts.percpu, rcuFree: new HtabRcuFree(k) };
}

/** alloc_htab_elem(): kmalloc(elem_size, GFP_NOWAIT | __GFP_NOWARN); a
 *  per-CPU map then __alloc_percpu_gfp()s the value (undone on failure). */
export const allocHtabElem = kfunc('alloc_htab_elem', function* (x: Context, h: HtabKmalloc, size: number): Gen<Obj | null> {
  const slab = x.k.slab;
  if (!h.percpu) return yield* slab.kmalloc(x, h.size || size);
  const l = yield* slab.kmalloc(x, PCPU_ELEM);
  if (!l) return null;
  const pptr = yield* slab.allocPercpu(x, h.size);
  if (!pptr) {
    yield* slab.kfree(x, l);
    return null;
  }
  l.pptrBytes = h.size;
  slab.pptrOf.set(l, pptr);
  return l;
});

/** htab_elem_free_rcu() -> htab_elem_free(): free_percpu() the value of a
 *  per-CPU map, then kfree() the element. */
export function* htabElemFreeRcu(x: Context, h: HtabKmalloc, l: Obj): Gen<void> {
  const slab = x.k.slab;
  if (h.percpu) {
    yield* slab.freePercpu(x, l.pptrBytes, slab.pptrOf.get(l));
    l.pptrBytes = 0;
  }
  yield* slab.kfree(x, l);
}

/** free_htab_elem() of v6.0: call_rcu(&l->rcu, htab_elem_free_rcu). */
export function freeHtabElemKmalloc(x: Context, h: HtabKmalloc, l: Obj): Gen<void> {
  return freeHtabElem(x, h.rcuFree, l, (y, o) => htabElemFreeRcu(y, h, o), 'htab_elem_free_rcu');
}

/** htab_map_free(): rcu_barrier() for the callbacks still queued (the
 *  harness has already freed the elements the map held). */
export function htabMapFreeKmalloc(x: Context, h: HtabKmalloc): Gen<void> {
  return htabMapFreeBarrier(x, h.rcuFree);
}
