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
import { atRest, firesAt, firesIn, lastAt, touches, withIn, type Finding, type Witness } from './finding.ts';
import { REUSE_SITUATIONS } from '../reuse/situations.ts';
import { REUSE_SCENARIOS } from '../reuse/scenarios.ts';

export { REUSE_SITUATIONS };

/** The kworker's free_llist_extra loop drops every node it takes
 *  (bpf_ma_prepare_reuse_work(): `head = llnode->next` after
 *  `llnode->next = head`): the nodes are last touched there. */
const droppedByKworker = (w: Witness): boolean => lastAt(w, 'bpf_ma_prepare_reuse_work') && w.last.every((p) => p.level === 'task');

/** An NMI free (wait_gp_reuse_free(), 'active' was free) spins on the
 *  cache's reuse_lock, held beneath it on its CPU. */
const nmiSpinsOnReuseLock = (w: Witness): boolean => firesIn(w, 'wait_gp_reuse_free') && firesAt(w, 'nmi') && touches(w, 'reuse_lock');

/** What the RFC as written breaks (docs/reuse-after-rcu-gp.md). */
export const REUSE_FINDINGS: readonly Finding[] = [
  {
    name: 'extra-nodes-dropped-by-kworker',
    invariant: 'Conservation',
    signature: "objects lost (live, on no list, owned by nobody) whose last step was bpf_ma_prepare_reuse_work()'s loop over free_llist_extra, in the kworker",
    last: true,
    match: (w) => atRest(w) && droppedByKworker(w),
  },
  {
    name: 'extra-nodes-dropped-by-kworker-leak',
    invariant: 'NoLeakAtTeardown',
    signature: "objects never returned to slab whose last step was bpf_ma_prepare_reuse_work()'s loop over free_llist_extra, in the kworker",
    last: true,
    match: (w) => droppedByKworker(w),
  },
  {
    name: 'nmi-spins-on-reuse-lock-held-by-callback',
    invariant: 'NoDeadlock',
    signature: 'an NMI free in wait_gp_reuse_free() spins on reuse_lock held beneath it, on its CPU, by bpf_ma_reuse_cb(), bpf_ma_free_reusable_cb() or bpf_ma_get_reusable_obj() (they take it without active)',
    match: (w) => nmiSpinsOnReuseLock(w) && withIn(w, 'bpf_ma_add_to_reuse_ready_or_free', 'bpf_ma_reuse_cb', 'bpf_ma_free_reusable_cb', 'bpf_ma_get_reusable_obj'),
  },
  {
    name: 'nmi-spins-on-reuse-lock-after-early-dec',
    invariant: 'NoDeadlock',
    signature: 'an NMI free in wait_gp_reuse_free() spins on reuse_lock held beneath it by the kworker bpf_ma_prepare_reuse_work(), which dropped active before the unlock',
    match: (w) => nmiSpinsOnReuseLock(w) && withIn(w, 'bpf_ma_prepare_reuse_work'),
  },
];

export const reuseAfterRcuGp = definePolicy<ReuseMa>({
  name: 'reuse-after-rcu-gp',
  summary: 'RFC BPF_MA_REUSE_AFTER_RCU_GP (seed 001): frees reusable after an RCU GP via kworker + bpf_reuse_batch, freed to slab after a tasks-trace GP',
  // every shared field sits behind a primitive or a fields.ts accessor
  footprints: 'exact',
  scenarios: REUSE_SCENARIOS,
  promises: ['NoReuseBeforeGracePeriod'],
  header: LLIST_NODE_SZ,
  findings: {
    known: [...REUSE_FINDINGS, ...IRQ_ORDER_FINDING.known],
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
