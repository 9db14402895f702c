// Bug zoo: kmem_cache_destroy() of a cache with an array flushes every
// CPU's array and frees s->cpu_array, then returns without
// kmem_cache_release(): struct kmem_cache itself is never given back to the
// kmem_cache cache (NoLeakAtTeardown; found by the mutation run, issue 21).
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { flushCpuArray } from '../slub/free.ts';
import { freeCpuArray, type KmemCache } from '../slub/pca.ts';
import { mapDestroy } from '../slub/user.ts';
import { slubPca } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

const destroyKeepingCache = kfunc('kmem_cache_destroy', function* (x: Context, s: KmemCache): Gen<void> {
  if (s.cpu_array) for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) yield* flushCpuArray(x, s, cpu);
  yield* freeCpuArray(x, s);
  // the bug: no kmem_cache_free(kmem_cache, s)
});

export const pcaDestroyKeepsCache = definePolicy({
  ...slubPca,
  name: 'bug/pca-destroy-keeps-cache',
  summary: 'kmem_cache_destroy() frees the arrays but never struct kmem_cache itself',
  bug: { invariants: ['NoLeakAtTeardown'], why: 's outlives its own destroy: the kmem_cache cache never gets it back' },
  destroy: (x, st) => mapDestroy(x, st.s, destroyKeepingCache, st.nmi),
});
