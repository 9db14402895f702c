// Bug zoo: seed 000's bpf_mem_free() picks the bucket from ksize() of the
// object, as memalloc.c did for ordinary objects. For a per-CPU object the
// kmalloc()ed part is the 16-byte llist_node + pointer whatever its unit,
// so every per-CPU object is freed into the 16-byte bucket: a 64-byte unit
// sits on a cache of 16-byte units. Every list stays consistent and every
// node is 16 bytes; only the unit it carries is in the wrong bucket
// (SizeMatchesCache, configuration percpu-buckets).
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemCacheIdx, thisCpuBucket, type BpfMemAlloc } from '../memalloc/cache.ts';
import { unitFree } from '../memalloc/unit.ts';
import { runToEnd } from '../kernel/sched.ts';
import { bpfProgLoad } from '../percpu/verifier.ts';
import { percpuOnDemand } from './percpu-on-demand.ts';
import { definePolicy } from './policy.ts';

const freeByKsize = kfunc('bpf_mem_free', function* (x: Context, ma: BpfMemAlloc, ptr: Obj): Gen<void> {
  // the bug: bpf_mem_cache_idx(ksize(ptr - LLIST_NODE_SZ)), not the unit
  const idx = bpfMemCacheIdx(ptr.size);
  if (WARN_ON_ONCE(x, idx < 0, 'WARN_ON_ONCE(idx < 0)')) return;
  yield* unitFree(x, thisCpuBucket(x, ma.caches!, idx), ptr);
});

export const percpuFreeByKsize = definePolicy({
  ...percpuOnDemand,
  name: 'bug/percpu-free-by-ksize',
  summary: 'bpf_mem_free() picks the bucket from ksize(): every per-CPU unit is freed into the 16-byte bucket',
  bug: {
    invariants: ['SizeMatchesCache'],
    why: 'the kmalloc()ed part of a per-CPU object is 16 bytes whatever its unit: a 64-byte unit goes back to the cache of 16-byte units',
    config: 'percpu-buckets',
  },
  // a program of the smallest size was loaded at boot: the 16-byte bucket
  // is set up, so the unit lands in a bucket that exists (an unset one
  // has no unit size and was caught already)
  init: (k, opts) => {
    const v = percpuOnDemand.init(k, opts);
    runToEnd(bpfProgLoad(k.context(0, 'task', 'boot'), v, 8));
    return v;
  },
  free: (x, v, obj) => freeByKsize(x, v.ma, obj),
});
