// Bug zoo (seed 002 as written, not named in its review): when
// kmem_cache_alloc_bulk() got some objects from the array but slab cannot
// supply the rest, it frees the array's part back to slab and still adds
// from_pca to the count it returns. The caller then owns objects that are
// already in slab.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { __kmemCacheAllocBulk, allocFromPcaBulk } from '../slub/alloc.ts';
import { __kmemCacheFreeBulk } from '../slub/free.ts';
import type { KmemCache } from '../slub/pca.ts';
import { slubInit, slubPca, slubUserAlloc } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

const kmemCacheAllocBulkAsWritten = kfunc('kmem_cache_alloc_bulk', function* (x: Context, s: KmemCache, size: number, p: Obj[]): Gen<number> {
  if (!size) return 0;
  let fromPca = 0;
  let allocated = 0;
  if (s.cpu_array) fromPca = yield* allocFromPcaBulk(x, s, size, p);
  if (fromPca < size) {
    allocated = yield* __kmemCacheAllocBulk(x, s, size - fromPca, p);
    if (allocated === 0 && fromPca > 0) yield* __kmemCacheFreeBulk(x, s, p.slice(0, fromPca));
  }
  return allocated + fromPca;
});

export const pcaBulkReturnsFreed = definePolicy({
  ...slubPca,
  name: 'bug/pca-bulk-returns-freed',
  summary: 'kmem_cache_alloc_bulk() returns from_pca after freeing those objects (seed 002 as written)',
  bug: { invariants: ['Conservation', 'ExclusiveOwnership'], why: 'the caller is handed objects already back in slab' },
  init: (k, opts) => slubInit(k, opts.size, undefined, kmemCacheAllocBulkAsWritten),
  alloc: (x, st) => slubUserAlloc(x, st, kmemCacheAllocBulkAsWritten),
});

export default pcaBulkReturnsFreed;
