// Before upstream 1ce20c28eafd: slab_free() puts objects of pfmemalloc
// slabs into the sheaves like any other, so an allocation that may not
// use the memory reserves is later served one from a sheaf.
import { sheavesVariant } from './slub-sheaves.ts';

export const sheavesPfmemallocCached = sheavesVariant(
  'bug/sheaves-pfmemalloc-cached',
  'slab_free() caches objects of pfmemalloc slabs in the sheaves (fixed by 1ce20c28eafd)',
  { slab_free_to_pcs_ok: (x, s, slab, node) => slab.node === node },
  { bug: { invariants: ['PfmemallocNotCached', 'PfmemallocOnlyToReserves'], why: 'a reclaim-path allocation gets a page from the reserves; its object, freed, goes into a sheaf, where a GFP_KERNEL allocation may take it' } },
);
