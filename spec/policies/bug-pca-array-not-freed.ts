// Bug zoo: kmem_cache_destroy() as seed 002 leaves it: the arrays are
// emptied but __kmem_cache_release() frees s->cpu_slab and never
// s->cpu_array, as the review of the patch points out.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { flushCpuArray, kmemCacheFreeStruct } from '../slub/free.ts';
import type { KmemCache } from '../slub/pca.ts';
import { mapDestroy } from '../slub/user.ts';
import { slubPca } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

const destroyKeepingArray = kfunc('kmem_cache_destroy', function* (x: Context, s: KmemCache): Gen<void> {
  if (s.cpu_array) for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) yield* flushCpuArray(x, s, cpu);
  // the bug: no free_percpu(s->cpu_array)
  yield* kmemCacheFreeStruct(x, s);
});

export const pcaArrayNotFreed = definePolicy({
  ...slubPca,
  name: 'bug/pca-array-not-freed',
  summary: 'kmem_cache_destroy() never frees s->cpu_array (seed 002 as written)',
  bug: { invariants: ['NoLeakAtTeardown'], why: 'the percpu array outlives its cache' },
  destroy: (x, st) => mapDestroy(x, st.s, destroyKeepingArray, st.nmi),
});
