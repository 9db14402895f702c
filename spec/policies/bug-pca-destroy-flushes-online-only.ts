// Bug zoo: kmem_cache_destroy() empties the arrays of the online CPUs only
// (for_each_online_cpu() where the array is per possible CPU). An offline
// CPU's array keeps its objects, and free_percpu(s->cpu_array) takes them
// with it. Found only when a CPU goes offline: the cpu_offline fault the
// family's destroy must survive (NoLeakAtTeardown).
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { flushCpuArray, kmemCacheFreeStruct } from '../slub/free.ts';
import { freeCpuArray, type KmemCache } from '../slub/pca.ts';
import { mapDestroy } from '../slub/user.ts';
import { slubPca } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

const destroyOnlineOnly = kfunc('kmem_cache_destroy', function* (x: Context, s: KmemCache): Gen<void> {
  // the bug: for_each_online_cpu(cpu)
  if (s.cpu_array) for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) if (x.k.cpus[cpu]!.online) yield* flushCpuArray(x, s, cpu);
  yield* freeCpuArray(x, s);
  yield* kmemCacheFreeStruct(x, s);
});

export const pcaDestroyFlushesOnlineOnly = definePolicy({
  ...slubPca,
  name: 'bug/pca-destroy-flushes-online-only',
  summary: "kmem_cache_destroy() flushes only the online CPUs' arrays: an offline CPU's objects go with the array",
  bug: { invariants: ['Conservation', 'NoLeakAtTeardown', 'DeadCpuHoldsNothing'], why: 'an offline CPU keeps its array; destroy frees the array with the objects still in it: they are on no list and never go back to slab' },
  destroy: (x, st) => mapDestroy(x, st.s, destroyOnlineOnly, st.nmi),
});
