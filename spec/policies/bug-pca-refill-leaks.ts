// Bug zoo (seed 002 as written, not named in its review): refill_pca()
// bulk-allocates a batch, then returns false when pca_spin_trylock() fails,
// dropping the batch it still holds in `objects`: those objects are in
// neither the array nor slab. The correct refillPca (spec/slub/alloc.ts)
// gives them back with __kmem_cache_free_bulk().
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { __kmemCacheAllocBulk } from '../slub/alloc.ts';
import { __kmemCacheFreeBulk } from '../slub/free.ts';
import { PCA_BATCH, pcaPush, pcaSpinTrylock, pcaSpinUnlock, pcaUsed, type KmemCache } from '../slub/pca.ts';
import { slubInit, slubPca } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

const refillPcaAsWritten = kfunc('refill_pca', function* (x: Context, s: KmemCache, count: number): Gen<boolean> {
  for (;;) {
    let batch = Math.min(count, PCA_BATCH);
    const objects: Obj[] = [];
    const allocated = yield* __kmemCacheAllocBulk(x, s, batch, objects);
    if (!allocated) return false;
    const pca = yield* pcaSpinTrylock(x, s);
    if (!pca) {
      x.k.saw('pca-refill-trylock-fails-holding-objects');
      return false; // the bug: `objects` still holds the batch
    }
    batch = Math.min(allocated, pca.count - (yield* pcaUsed(x, pca)));
    for (let i = 0; i < batch; i++) yield* pcaPush(x, pca, objects[i]!);
    yield* pcaSpinUnlock(x, pca);
    if (batch < allocated) {
      x.k.saw('pca-refill-overshoots');
      yield* __kmemCacheFreeBulk(x, s, objects.slice(batch));
      return true;
    }
    count -= batch;
    if (count <= 0) return true;
  }
});

export const pcaRefillLeaks = definePolicy({
  ...slubPca,
  name: 'bug/pca-refill-leaks',
  summary: 'refill_pca() drops its bulk-allocated batch when the trylock fails (seed 002 as written)',
  bug: { invariants: ['Conservation', 'NoLeakAtTeardown'], why: 'a batch refill_pca() allocated is neither in the array nor back in slab' },
  init: (k, opts) => slubInit(k, opts.size, refillPcaAsWritten),
});

export default pcaRefillLeaks;
