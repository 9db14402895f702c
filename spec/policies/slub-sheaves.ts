// SLUB with per-CPU sheaves as of the late-January 2026 snapshot of
// mm/slub.c (spec/sheaves/, docs/sheaves.md): one cache of the
// configuration's object size (1024 bytes for size buckets), used by
// syscalls, a hardirq user and RCU callbacks (spec/sheaves/user.ts), with
// kfree_rcu(), kvfree_rcu_barrier(), CPU hotplug and kmem_cache_destroy().
//
// The snapshot leaks what a failed refill_sheaf() put in a sheaf
// (alloc_full_sheaf(), __pcs_replace_empty_main() free it with
// free_empty_sheaf()): a known finding, fixed upstream by 464b1c115852
// (control/slub-sheaves-refill-flush holds the fix).
import { firesIn, type Finding } from './finding.ts';
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { Gen } from '../kernel/types.ts';
import { SHEAVES_INVARIANTS } from '../../model/invariants.ts';
import { SheavesModel } from '../../model/sheaves.ts';
import { kmemCacheCreate } from '../sheaves/destroy.ts';
import { deferFreeObjects } from '../sheaves/nolock.ts';
import { sheavesOps, type SheavesOps } from '../sheaves/ops.ts';
import { freeEmptySheaf, sheafFlushUnused, type KmemCache, type SlabSheaf } from '../sheaves/pcs.ts';
import { kfreeRcuBatches } from '../sheaves/rcu.ts';
import { SLUB_SHEAVES_SITUATIONS } from '../sheaves/situations.ts';
import { SlabUser, slabUserAlloc, slabUserCpuDead, slabUserDestroy, slabUserFree } from '../sheaves/user.ts';
import { definePolicy, type Policy } from './policy.ts';

/** The barn limits the model uses: MAX_FULL_SHEAVES and
 *  MAX_EMPTY_SHEAVES are 10 in the source, out of reach of a 24-object
 *  pool with 4-object sheaves; 1 keeps every limit path reachable (the
 *  code reads them racily and treats them as soft, so their value changes
 *  which path runs, never what a path may do). */
export const SHEAVES_BARN_LIMIT = 1;

export interface SheavesState {
  s: KmemCache;
  user: SlabUser;
  model: SheavesModel;
}

/** kmem_cache_create() at boot with the sheaves model judging it. */
export function sheavesInit(k: Kernel, size: number, ops: SheavesOps = sheavesOps()): SheavesState {
  deferFreeObjects(k);
  kfreeRcuBatches(k);
  const s = kmemCacheCreate(k, 's', size || 1024, ops);
  s.max_full_sheaves = s.max_empty_sheaves = SHEAVES_BARN_LIMIT;
  const model = new SheavesModel(k, () => [s]);
  s.judge = model;
  k.audited.push(model);
  return { s, user: new SlabUser(k, s), model };
}

/** The snapshot's refill_sheaf() leak, by its signature. */
export const REFILL_SHEAF_LEAKS_PARTIAL: Finding = {
  name: 'refill-sheaf-leaks-partial',
  invariant: 'Conservation',
  signature: 'free_empty_sheaf() frees a sheaf with objects still in it, called where refill_sheaf() failed part way: alloc_full_sheaf() or __pcs_replace_empty_main()',
  match: (w) => firesIn(w, 'free_empty_sheaf') && firesIn(w, 'alloc_full_sheaf', '__pcs_replace_empty_main'),
};

export const SLUB_SHEAVES_FINDING = {
  known: [REFILL_SHEAF_LEAKS_PARTIAL],
  why: "refill_sheaf() may fill a sheaf part way (refill_objects() is no longer all or nothing) and the snapshot then frees that sheaf with free_empty_sheaf(), losing its objects (alloc_full_sheaf(), __pcs_replace_empty_main()); upstream 464b1c115852 'slab: fix memory leak when refill_sheaf() fails' flushes it first",
  doc: 'docs/sheaves.md',
};

/** upstream 464b1c115852: a sheaf whose refill failed is flushed before
 *  it is freed (SheavesOps.free_unfilled_sheaf) */
export function* freeUnfilledSheafFixed(x: Context, s: KmemCache, sh: SlabSheaf): Gen<void> {
  yield* sheafFlushUnused(x, s, sh);
  yield* freeEmptySheaf(x, s, sh);
}
export const REFILL_FIX: Partial<SheavesOps> = { free_unfilled_sheaf: freeUnfilledSheafFixed };

/** slub-sheaves with the refill fix and some functions replaced: the
 *  zoo's template (each variant is one spot away from the fixed source,
 *  so the snapshot's own leak does not hide it) */
export function sheavesVariant(name: string, summary: string, over: Partial<SheavesOps>, extra: Partial<Policy<SheavesState>>): Policy<SheavesState> {
  return definePolicy<SheavesState>({ ...slubSheaves, findings: undefined, name, summary, init: (k, opts) => sheavesInit(k, opts.size, { ...sheavesOps(), ...REFILL_FIX, ...over }), ...extra });
}

export const slubSheaves = definePolicy<SheavesState>({
  name: 'slub-sheaves',
  summary: 'SLUB per-CPU sheaves (mm/slub.c, Jan 2026): local_trylock, per-node barns, bulk paths, kfree_rcu sheaves, hotplug, destroy; syscall, hardirq and softirq users on two nodes',
  callers: 'syscall',
  faults: ['kmalloc', 'cpu_offline'],
  promises: SHEAVES_INVARIANTS,
  situations: SLUB_SHEAVES_SITUATIONS,
  findings: SLUB_SHEAVES_FINDING,
  init: (k, opts) => sheavesInit(k, opts.size),
  alloc: (x, st) => slabUserAlloc(x, st.user),
  free: (x, st, obj) => slabUserFree(x, st.user, obj),
  cpuDead: (x, st, cpu) => slabUserCpuDead(x, st.user, cpu),
  destroy: (x, st) => slabUserDestroy(x, st.user),
});
