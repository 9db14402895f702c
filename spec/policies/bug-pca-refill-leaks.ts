// Bug zoo (seed 002 as written, not named in its review): refill_pca()
// bulk-allocates a batch, then returns false when pca_spin_trylock() fails,
// dropping the batch it still holds in `objects`: those objects are in
// neither the array nor slab. The correct refill_pca() (spec/slub/alloc.ts)
// gives them back with __kmem_cache_free_bulk().
import { slubInit, slubPca } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

export const pcaRefillLeaks = definePolicy({
  ...slubPca,
  name: 'bug/pca-refill-leaks',
  summary: 'refill_pca() drops its bulk-allocated batch when the trylock fails (seed 002 as written)',
  bug: { invariants: ['Conservation', 'NoLeakAtTeardown'], why: 'a batch refill_pca() allocated is neither in the array nor back in slab' },
  init: (k, opts) =>
    slubInit(k, opts.size, {
      *refill_pca_put_back() {}, // the bug: `return false` with the batch still in `objects`
    }),
});

export default pcaRefillLeaks;
