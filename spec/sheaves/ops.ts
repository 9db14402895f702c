// mm/slub.c's functions (and seams inside them) that a variant may
// replace, as an ops table carried by the cache, the way
// spec/memalloc/ops.ts carries memalloc.c's: a one-line kernel change is a
// one-entry variant, `{ ...sheavesOps(), entry: mine }` (docs/sheaves.md).
import type { Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { getBarn, type NodeBarn } from './barn.ts';
import { freeToPcs, freeToPcsBulkTail } from './free.ts';
import type { Gfp } from './gfp.ts';
import { freeEmptySheaf, type KmemCache, type SlabSheaf, type SlubPercpuSheaves } from './pcs.ts';
import { kfreeRcuSheafSubmit } from './rcu.ts';
import { refillObjects } from './refill.ts';
import { freeNewSlabNolock, type Slab } from './slab.ts';

/** get_barn() where the caller backs off on NULL: 'none' makes it back off */
export type BarnOrNone = NodeBarn | 'none';

export interface SheavesOps {
  /** refill_objects(s, p, gfp, min, max) */
  refill_objects(x: Context, s: KmemCache, p: Obj[], gfp: Gfp, min: number, max: number): Gen<number>;
  /** __pcs_replace_empty_main(): `barn = get_barn(s); if (!barn) back off`
   *  (fd6db5886792 added the check) */
  replace_empty_main_barn(x: Context, s: KmemCache): BarnOrNone;
  /** slab_free(): may the object go to the sheaves? The slab is local and
   *  not pfmemalloc (1ce20c28eafd added the pfmemalloc part). */
  slab_free_to_pcs_ok(x: Context, s: KmemCache, slab: Slab, node: number): boolean;
  /** free_to_pcs_bulk() after the last batch went into main: `if
   *  (remote_nr) goto flush_remote; return;` (cbcff934fa7d) */
  free_to_pcs_bulk_tail(x: Context, s: KmemCache, remote: Obj[]): Gen<void>;
  /** alloc_from_new_slab(): the trylock failed, the new slab goes back */
  free_new_slab_nolock(x: Context, s: KmemCache, slab: Slab): Gen<void>;
  /** __kfree_rcu_sheaf(): a full rcu sheaf goes to call_rcu() before
   *  local_unlock(), so a racing flush cannot miss it */
  kfree_rcu_sheaf_submit(x: Context, s: KmemCache, pcs: SlubPercpuSheaves, rcuSheaf: SlabSheaf | null): Gen<void>;
  /** alloc_full_sheaf() and __pcs_replace_empty_main(): a sheaf whose
   *  refill_sheaf() failed is freed; the snapshot frees it with what the
   *  partial refill put in it (fixed upstream by 464b1c115852, which
   *  flushes it first) */
  free_unfilled_sheaf(x: Context, s: KmemCache, sh: SlabSheaf): Gen<void>;
  /** kfree_nolock(): free_to_pcs(s, x, false), no spinning */
  kfree_nolock_to_pcs(x: Context, s: KmemCache, obj: Obj): Gen<boolean>;
}

let table: SheavesOps | null = null;

/** mm/slub.c as in the late-January 2026 snapshot (built at first use) */
export function sheavesOps(): SheavesOps {
  return (table ??= {
    refill_objects: refillObjects,
    replace_empty_main_barn: (x, s) => getBarn(x, s) ?? 'none',
    slab_free_to_pcs_ok: (x, s, slab, node) => slab.node === node && !slab.pfmemalloc,
    free_to_pcs_bulk_tail: freeToPcsBulkTail,
    free_new_slab_nolock: freeNewSlabNolock,
    kfree_rcu_sheaf_submit: kfreeRcuSheafSubmit,
    free_unfilled_sheaf: freeEmptySheaf,
    kfree_nolock_to_pcs: (x, s, obj) => freeToPcs(x, s, obj, false),
  });
}

export function withSheavesOps(over: Partial<SheavesOps>): SheavesOps {
  return { ...sheavesOps(), ...over };
}
