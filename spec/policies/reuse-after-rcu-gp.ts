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

/** Coverage the check must reach for a green result to mean something. */
export const REUSE_SITUATIONS: Record<string, string> = {
  'nmi-in-active:unit_alloc': 'an NMI program enters the allocator while unit_alloc holds active',
  'nmi-in-active:wait_gp_reuse_free': 'an NMI program frees while wait_gp_reuse_free holds active (free_llist_extra path)',
  'reuse:free-kicks-kworker': 'a free pushes prepare_reuse_cnt past high_watermark and queues reuse_work',
  'reuse:kworker-on-other-cpu': "bpf_ma_prepare_reuse_work runs on a CPU other than the cache's (CPU offline)",
  'reuse:batch-alloc-failed': 'kmalloc of bpf_reuse_batch fails: synchronize_rcu_expedited() path',
  'reuse:from-reuse_ready': 'alloc_bulk reuses an object from reuse_ready_head',
  'reuse:abort-in-callback': 'bpf_ma_add_to_reuse_ready_or_free finds abort_reuse set and frees',
  'reuse:teardown-with-reuse-in-flight': 'bpf_mem_alloc_destroy counts a reuse kworker or bpf_ma_reuse_cb in flight',
  'grace-period-held-by-reader': 'a grace period could not end because a reader was inside its critical section',
};

export const reuseAfterRcuGp = definePolicy<ReuseMa>({
  name: 'reuse-after-rcu-gp',
  summary: 'RFC BPF_MA_REUSE_AFTER_RCU_GP (seed 001): frees reusable after an RCU GP via kworker + bpf_reuse_batch, freed to slab after a tasks-trace GP',
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
