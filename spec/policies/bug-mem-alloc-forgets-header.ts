// Bug zoo (ObjectFitsRequest): a bucket lookup that forgets the 8-byte
// llist_node in front of every object: bpf_mem_alloc(1020) is served from
// the 1024-byte bucket, which holds 1016 usable bytes.
import { bpfMemCacheIdx, LLIST_NODE_SZ } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

export const memAllocForgetsHeader = definePolicy({
  ...bpfMa,
  name: 'bug/mem-alloc-forgets-header',
  summary: 'bpf_mem_alloc() picks its bucket by the size asked for, without the llist_node header',
  bug: { invariants: ['ObjectFitsRequest'], why: 'a request within 8 bytes of a bucket size gets a unit too small for it', config: 'buckets' },
  init: withOps({ bpf_mem_cache_idx: (size) => bpfMemCacheIdx(size - LLIST_NODE_SZ) }),
});
