// Bug zoo (SizeMatchesCache): bpf_mem_free() that adds the llist_node
// header to ksize() a second time: a 1024-byte object goes to the 2048
// bucket's free_llist, where a later allocation hands it out as 2048 bytes.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemCacheIdx, LLIST_NODE_SZ, thisCpuBucket, thisCpuCache, type BpfMemAlloc } from '../memalloc/cache.ts';
import { bpfMa } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

const bpfMemFreeDoubleHeader = kfunc('bpf_mem_free', function* (x: Context, ma: BpfMemAlloc, ptr: Obj): Gen<void> {
  const idx = bpfMemCacheIdx(ptr.size + LLIST_NODE_SZ); // the bug: ksize() already counts it
  if (idx < 0) return;
  const c = thisCpuBucket(x, ma.caches!, idx);
  yield* c.ops.unit_free(x, c, ptr);
});

export const memFreeDoubleHeader = definePolicy({
  ...bpfMa,
  name: 'bug/mem-free-double-header',
  summary: 'bpf_mem_free() looks the bucket up with ksize() + LLIST_NODE_SZ',
  bug: { invariants: ['SizeMatchesCache', 'NoLeakAtTeardown'], why: 'a freed object enters the free list of a bucket of another unit size', config: 'buckets' },
  free: (x, ma, obj) => {
    if (ma.cache) {
      const c = thisCpuCache(x, ma.cache);
      return c.ops.unit_free(x, c, obj);
    }
    return bpfMemFreeDoubleHeader(x, ma, obj);
  },
});
