// Bug zoo: slab_free() as seed 002 writes it. free_to_pca() returns false
// when its trylock fails or when the array is full in an interrupt, and
// the object is then neither in the array nor back in slab: leaked, as
// the review of the patch points out.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { doSlabFree, freeToPca } from '../slub/free.ts';
import type { KmemCache } from '../slub/pca.ts';
import { slubPca, slubUserFree } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

/** slab_free() that ignores free_to_pca()'s result. */
const slabFreeIgnoringFailure = kfunc('slab_free', function* (x: Context, s: KmemCache, object: Obj): Gen<void> {
  if (s.cpu_array) yield* freeToPca(x, s, object);
  else yield* doSlabFree(x, s, object);
});

export const pcaFreeFailLeaks = definePolicy({
  ...slubPca,
  name: 'bug/pca-free-fail-leaks',
  summary: 'slab_free() ignores free_to_pca() returning false (seed 002 as written)',
  bug: { invariants: ['Conservation', 'NoLeakAtTeardown'], why: 'an object the array could not take is neither in the array nor in slab' },
  free: (x, st, obj) => slubUserFree(x, st, obj, slabFreeIgnoringFailure),
});
