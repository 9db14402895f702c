// Bug zoo (BucketIndexInRange): bpf_mem_cache_idx() without its
// `size > 4096` test: a 4090-byte bpf_mem_alloc() (4098 with the header)
// gets fls(4097) - 2 = 11, one past the last of the NUM_CACHES buckets,
// which this_cpu_ptr(ma->caches)->cache + idx reads beyond.
import { bpfMemCacheIdx } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

const fls = (x: number): number => (x === 0 ? 0 : 32 - Math.clz32(x));

export const cacheIdxNoUpperBound = definePolicy({
  ...bpfMa,
  name: 'bug/cache-idx-no-upper-bound',
  summary: 'bpf_mem_cache_idx() lacks the size > 4096 check',
  bug: { invariants: ['BucketIndexInRange'], why: 'a request just over 4096 bytes with its header indexes bucket 11 of 11', config: 'buckets' },
  init: withOps({ bpf_mem_cache_idx: (size) => (size > 4096 ? fls(size - 1) - 2 : bpfMemCacheIdx(size)) }),
});
