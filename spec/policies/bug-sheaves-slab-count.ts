// A new-slab path that counts a slab it frees: alloc_from_new_slab()'s
// trylock of n->list_lock fails on an allow_spin = false path and the new
// slab goes back, but this variant counts it (inc_slabs_node()) first, as
// if it had been put on the partial list: nr_slabs keeps a slab that is
// gone, and kmem_cache_destroy() finds the cache "still has objects".
import type { Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import type { KmemCache } from '../sheaves/pcs.ts';
import { freeNewSlabNolock, incSlabsNode, type Slab } from '../sheaves/slab.ts';
import { nolockVariant } from './kmalloc-nolock.ts';

function* countsThenFrees(x: Context, s: KmemCache, slab: Slab): Gen<void> {
  incSlabsNode(s, slab.node);
  yield* freeNewSlabNolock(x, s, slab);
}

export const sheavesSlabCount = nolockVariant(
  'bug/sheaves-slab-count',
  'alloc_from_new_slab() counts the new slab it gives back when its list_lock trylock fails',
  { free_new_slab_nolock: countsThenFrees },
  { bug: { invariants: ['SlabCountsMatch', 'DestroyLeavesNothing'], why: 'kmalloc_nolock() over a held list_lock (or a failed trylock) frees the new slab but leaves it counted in nr_slabs' } },
);
