// seed 001's thread: "using call_rcu() to call bpf_mem_free()": the element
// comes from memalloc.c (seed 004), and the map frees it with call_rcu()
// whose callback calls bpf_mem_cache_free() (spec/htab/elem.ts).
import { bpfMemAllocDestroy } from '../memalloc/destroy.ts';
import { LLIST_NODE_SZ, type BpfMemAlloc } from '../memalloc/cache.ts';
import { bpfMemAllocInit } from '../memalloc/init.ts';
import { GRACE_PERIOD_HELD_BY_READER, nmiInActive, rcuCallbackRacingFree, TEARDOWN_WITH_CALLBACKS_IN_FLIGHT } from '../memalloc/situations.ts';
import { KWORKER_ON_OTHER_CPU } from '../kernel/situations.ts';
import { bpfMemAlloc, bpfMemCacheAlloc, bpfMemCacheFree, bpfMemFree } from '../memalloc/unit.ts';
import { freeHtabElem, HTAB_RCU_SITUATIONS, HtabRcuFree, htabMapFreeBarrier } from '../htab/elem.ts';
import { IRQ_ORDER_FINDING } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

export interface MaAfterCallRcu {
  readonly ma: BpfMemAlloc;
  readonly rcuFree: HtabRcuFree;
}

export const bpfMaAfterCallRcu = definePolicy<MaAfterCallRcu>({
  name: 'bpf-ma-after-call-rcu',
  summary: "seed 001's thread: memalloc.c (seed 004), the element freed with call_rcu() whose callback calls bpf_mem_cache_free()",
  promises: ['NoReuseBeforeGracePeriod'],
  header: LLIST_NODE_SZ,
  findings: IRQ_ORDER_FINDING,
  optIn: { why: "its paths are bpf-ma's unit_alloc/unit_free behind one call_rcu(): it costs the default check as much as bpf-ma (+13% steps) for little new" },
  situations: [
    ...HTAB_RCU_SITUATIONS,
    nmiInActive('unit_alloc', 'an NMI program enters the allocator while unit_alloc holds active'),
    nmiInActive('unit_free', 'an NMI program enters the allocator while a callback in unit_free holds active'),
    ...rcuCallbackRacingFree(['free_htab_elem']),
    GRACE_PERIOD_HELD_BY_READER,
    TEARDOWN_WITH_CALLBACKS_IN_FLIGHT,
    KWORKER_ON_OTHER_CPU,
  ],
  init: (k, opts) => ({ ma: bpfMemAllocInit(k, opts), rcuFree: new HtabRcuFree(k) }),
  alloc: (x, s, size) => (s.ma.cache ? bpfMemCacheAlloc(x, s.ma) : bpfMemAlloc(x, s.ma, size)),
  // the callback runs in softirq on the freeing CPU: that CPU's cache
  free: (x, s, obj) => freeHtabElem(x, s.rcuFree, obj, (y, o) => (s.ma.cache ? bpfMemCacheFree(y, s.ma, o) : bpfMemFree(y, s.ma, o)), 'htab_elem_free_rcu'),
  *destroy(x, s) {
    // htab_map_free(): rcu_barrier() before bpf_mem_alloc_destroy()
    yield* htabMapFreeBarrier(x, s.rcuFree);
    yield* bpfMemAllocDestroy(x, s.ma);
  },
});
