// FREE_AFTER_RCU_GP, the flavour the RFC's thread describes (seed 001):
// bpf_mem_free() batches objects into call_rcu() and frees them to slab.
// Not safe for sleepable programs that do not take bpf_rcu_read_lock().
import { bpfMemAlloc, bpfMemCacheAlloc } from '../memalloc/unit.ts';
import { LLIST_NODE_SZ } from '../memalloc/cache.ts';
import { IRQ_ORDER_FINDING } from './bpf-ma.ts';
import { bpfMemAllocDestroy, type ReuseMa } from '../reuse/destroy.ts';
import { FREE_AFTER_GP_OPS } from '../reuse/free_after_gp.ts';
import { bpfMemCacheFree, bpfMemFree } from '../reuse/free.ts';
import { bpfMaReuseInit } from '../reuse/init.ts';
import { definePolicy } from './policy.ts';
import { REUSE_SITUATIONS } from '../reuse/situations.ts';
import { REUSE_SCENARIOS } from '../reuse/scenarios.ts';

// nothing is reused: no reuse_ready, no abort_reuse in a callback
const situations = REUSE_SITUATIONS.filter((s) => s.name !== 'reuse:from-reuse_ready' && s.name !== 'reuse:abort-in-callback');

export const freeAfterRcuGp = definePolicy<ReuseMa>({
  name: 'free-after-rcu-gp',
  summary: 'thread of seed 001: frees go back to slab through batched call_rcu(), nothing is reused',
  // every shared field sits behind a primitive or a fields.ts accessor
  footprints: 'exact',
  scenarios: REUSE_SCENARIOS,
  promises: ['NoReuseBeforeGracePeriod'],
  header: LLIST_NODE_SZ,
  findings: IRQ_ORDER_FINDING,
  sleepableReadersTakeRcu: true,
  faults: ['kmalloc', 'percpu', 'cpu_offline'],
  situations,
  init: (k, opts) => bpfMaReuseInit(k, opts, { workName: 'bpf_ma_prepare_free_work', reuseOps: FREE_AFTER_GP_OPS }),
  alloc: (x, ma, size) => (ma.cache ? bpfMemCacheAlloc(x, ma) : bpfMemAlloc(x, ma, size)),
  free: (x, ma, obj) => (ma.cache ? bpfMemCacheFree(x, ma, obj) : bpfMemFree(x, ma, obj)),
  destroy: (x, ma) => bpfMemAllocDestroy(x, ma),
});
