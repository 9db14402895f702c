// Bug zoo: bpf_mem_free() picks the bucket from ksize() of the object, as
// it did before it read the unit_size of the cache the hint names. For a
// per-CPU object the kmalloc()ed part is the 16-byte llist_node + pointer
// whatever its per-CPU unit, so every per-CPU object is freed into the
// 16-byte bucket: a 64-byte unit sits on a cache of 16-byte units. Every
// list stays consistent and every node is 16 bytes; only the unit it
// carries is in the wrong bucket (SizeMatchesCache, configuration
// percpu-buckets, where every bucket is set up at boot).
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemCacheIdx } from '../memalloc/cache.ts';
import { thisCpuBucketUp, type MaUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const freeByKsize = kfunc('bpf_mem_free', function* (x: Context, ma: MaUp, ptr: Obj): Gen<void> {
  // the bug: idx = bpf_mem_cache_idx(ksize(ptr - LLIST_NODE_SZ))
  const idx = bpfMemCacheIdx(ptr.size);
  if (WARN_ON_ONCE(x, idx < 0, 'WARN_ON_ONCE(idx < 0)')) return;
  yield* ma.ops.unit_free(x, thisCpuBucketUp(x, ma.caches!, idx), ptr);
});

const ops = { ...upstreamOps, bpf_mem_free: freeByKsize };

export const upstreamPercpuFreeByKsize = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-percpu-free-by-ksize',
  summary: 'bpf_mem_free() picks the bucket from ksize(): every per-CPU unit is freed into the 16-byte bucket',
  findings: undefined,
  bug: {
    invariants: ['SizeMatchesCache'],
    why: 'the kmalloc()ed part of a per-CPU object is 16 bytes whatever its unit: a 64-byte unit goes back to the cache of 16-byte units',
    config: 'percpu-buckets',
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
