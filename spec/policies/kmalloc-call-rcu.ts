// No BPF allocator: the hash map of v6.0 (seed 001's flavour (1)) kmalloc()s
// each element and frees it with call_rcu() to kfree() (spec/htab/).
import { GRACE_PERIOD_HELD_BY_READER, rcuCallbackRacingFree } from '../memalloc/situations.ts';
import { HTAB_RCU_SITUATIONS } from '../htab/elem.ts';
import { allocHtabElem, freeHtabElemKmalloc, htabKmallocInit, htabMapFreeKmalloc, type HtabKmalloc } from '../htab/kmalloc.ts';
import { definePolicy } from './policy.ts';

export const kmallocCallRcu = definePolicy<HtabKmalloc>({
  name: 'kmalloc-call-rcu',
  summary: "no BPF allocator (seed 001's flavour (1), v6.0's hash map): kmalloc(GFP_NOWAIT) per element, call_rcu() to kfree()",
  promises: ['NoReuseBeforeGracePeriod'],
  // v6.0's verifier let no sleepable program use a non-preallocated map,
  // so only normal RCU readers can hold an element
  sleepableReadersTakeRcu: true,
  situations: [...HTAB_RCU_SITUATIONS, ...rcuCallbackRacingFree(['free_htab_elem']), GRACE_PERIOD_HELD_BY_READER],
  init: (k, opts) => htabKmallocInit(k, opts),
  alloc: (x, h, size) => allocHtabElem(x, h, size),
  free: (x, h, obj) => freeHtabElemKmalloc(x, h, obj),
  destroy: (x, h) => htabMapFreeKmalloc(x, h),
});
