// Seed 002: a SLUB cache with the opt-in per-CPU array of objects, with the
// review's two fixes (slab_free() falls back when free_to_pca() fails;
// s->cpu_array is freed at destroy) and two more the harness needs to hold
// (see spec/slub: refill_pca() gives back its batch when the trylock fails;
// kmem_cache_alloc_bulk() returns 0 after undoing a partial allocation).
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { Obj } from '../kernel/obj.ts';
import { runToEnd } from '../kernel/sched.ts';
import type { Gen } from '../kernel/types.ts';
import { kmemCacheAlloc, kmemCacheAllocBulk, kmemCachePrefillPercpuArray } from '../slub/alloc.ts';
import { kmemCacheFreeBulk } from '../slub/free.ts';
import { slubOps, type SlubOps } from '../slub/ops.ts';
import { KmemCache, kmemCacheSetupPercpuArray } from '../slub/pca.ts';
import { allocBulkAll, elemFreeRcu, mapDestroy, NmiSide, nmiFree, nmiTake, rcuPending, type RcuPending, type SlabFree } from '../slub/user.ts';
import { definePolicy } from './policy.ts';
import type { Situation } from './policy.ts';
import { SLUB_SCENARIOS } from '../slub/scenarios.ts';
import { SLUB_SITUATIONS } from '../slub/situations.ts';

export { SLUB_SITUATIONS };

/** Array size: small enough that the pool fills and empties it often;
 *  refill and flush move count / 2 = 2 objects. */
export const PCA_COUNT = 4;

export interface SlubState {
  s: KmemCache;
  /** elements freed by programs, waiting for their grace periods */
  pending: RcuPending;
  /** allocations so far: users take turns between the three ways in */
  calls: number;
  /** NMI programs' reserve and deferred frees (spec/slub/user.ts) */
  nmi: NmiSide;
}

/** kmem_cache_create(SLAB_NO_MERGE) + kmem_cache_setup_percpu_array(),
 *  then each CPU prefills half its array, as a user would at boot. A zoo
 *  variant may replace some of the cache's functions (spec/slub/ops.ts). */
export function slubInit(k: Kernel, size: number, over?: Partial<SlubOps>, allocBulk: typeof kmemCacheAllocBulk = kmemCacheAllocBulk): SlubState {
  const s = new KmemCache(size || 256, over ? { ...slubOps(), ...over } : slubOps());
  // kmem_cache_create(): s comes from the kmem_cache cache; destroy gives it back
  k.slab.structs.add(s);
  runToEnd(kmemCacheSetupPercpuArray(k.context(0, 'task', 'boot'), s, PCA_COUNT));
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) runToEnd(kmemCachePrefillPercpuArray(k.context(cpu, 'task', 'boot'), s, PCA_COUNT >> 1));
  const pending = rcuPending(k);
  return { s, pending, calls: 0, nmi: new NmiSide(k, s, pending, allocBulk) };
}

/** A slab user allocating: kmem_cache_alloc(); kmem_cache_alloc_bulk() of
 *  2, 3 or 4 (an insert that reserves a batch), keeping one and giving the
 *  rest back with kmem_cache_free_bulk(); or (process context only)
 *  kmem_cache_prefill_percpu_array() first. An NMI program takes from its
 *  CPU's reserve first (spec/slub/user.ts). */
export function* slubUserAlloc(x: Context, st: SlubState, allocBulk: typeof kmemCacheAllocBulk = kmemCacheAllocBulk): Gen<Obj | null> {
  const s = st.s;
  if (x.level === 'nmi') {
    const o = yield* nmiTake(x, st.nmi);
    if (o) return o;
  }
  const call = st.calls++;
  switch (call % 3) {
    case 1: {
      const n = 2 + (Math.floor(call / 3) % 3);
      const p = yield* allocBulkAll(x, s, n, allocBulk);
      if (!p) return null;
      yield* kmemCacheFreeBulk(x, s, p.slice(1));
      return p[0]!;
    }
    case 2:
      if (x.level === 'task') yield* kmemCachePrefillPercpuArray(x, s, PCA_COUNT >> 1);
      return yield* kmemCacheAlloc(x, s);
    default:
      return yield* kmemCacheAlloc(x, s);
  }
}

/** A program frees an element: after its grace periods, in its program's
 *  batch; from an NMI through the irq_work (spec/slub/user.ts). */
export function* slubUserFree(x: Context, st: SlubState, obj: Obj, free?: SlabFree): Gen<void> {
  if (x.level === 'nmi') yield* nmiFree(x, st.nmi, obj, free);
  else yield* elemFreeRcu(x, st.s, st.pending, obj, free);
}


export const slubPca = definePolicy<SlubState>({
  name: 'slub-pca',
  scenarios: SLUB_SCENARIOS,
  summary: 'SLUB opt-in per-CPU array (seed 002): trylock bypass, refill/flush half in batches of 32, bulk paths, with the review fixes',
  // kmem_cache_destroy() walks every possible CPU's array, a dead one's too
  faults: ['kmalloc', 'trylock', 'cpu_offline'],
  situations: SLUB_SITUATIONS,
  init: (k, opts) => slubInit(k, opts.size),
  alloc: (x, st) => slubUserAlloc(x, st),
  free: (x, st, obj) => slubUserFree(x, st, obj),
  destroy: (x, st) => mapDestroy(x, st.s, undefined, st.nmi),
});
