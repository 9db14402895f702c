// BPF_MA_REUSE_AFTER_RCU_GP as the RFC (seed 001) writes it, mistakes
// included: see docs/reuse-after-rcu-gp.md for what the harness finds.
import type { Obj } from '../kernel/obj.ts';
import { bpfMemAlloc, bpfMemCacheAlloc } from '../memalloc/unit.ts';
import { LLIST_NODE_SZ } from '../memalloc/cache.ts';
import { IRQ_ORDER_FINDING } from './bpf-ma.ts';
import { bpfMemAllocDestroy, type ReuseMa } from '../reuse/destroy.ts';
import { bpfMemCacheFree, bpfMemFree } from '../reuse/free.ts';
import { bpfMaReuseInit } from '../reuse/init.ts';
import { definePolicy } from './policy.ts';
import { REUSE_SITUATIONS } from '../reuse/situations.ts';
import { REUSE_SCENARIOS } from '../reuse/scenarios.ts';

export { REUSE_SITUATIONS };

export const reuseAfterRcuGp = definePolicy<ReuseMa>({
  name: 'reuse-after-rcu-gp',
  summary: 'RFC BPF_MA_REUSE_AFTER_RCU_GP (seed 001): frees reusable after an RCU GP via kworker + bpf_reuse_batch, freed to slab after a tasks-trace GP',
  // every shared field sits behind a primitive or a fields.ts accessor
  footprints: 'exact',
  scenarios: REUSE_SCENARIOS,
  promises: ['NoReuseBeforeGracePeriod'],
  header: LLIST_NODE_SZ,
  findings: {
    invariants: ['Conservation', 'NoLeakAtTeardown', 'NoDeadlock', ...IRQ_ORDER_FINDING.invariants],
    why: `the RFC as written drops free_llist_extra objects in bpf_ma_prepare_reuse_work, and an NMI free can spin on reuse_lock held beneath it; and ${IRQ_ORDER_FINDING.why}`,
    doc: 'docs/reuse-after-rcu-gp.md',
  },
  faults: ['kmalloc', 'percpu', 'cpu_offline'],
  situations: REUSE_SITUATIONS,
  init: (k, opts) => bpfMaReuseInit(k, opts),
  alloc: (x, ma, size) => (ma.cache ? bpfMemCacheAlloc(x, ma) : bpfMemAlloc(x, ma, size)),
  free: (x, ma, obj: Obj) => (ma.cache ? bpfMemCacheFree(x, ma, obj) : bpfMemFree(x, ma, obj)),
  destroy: (x, ma) => bpfMemAllocDestroy(x, ma),
});
