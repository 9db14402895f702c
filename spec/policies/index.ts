// The registry of built-in policies: the designs first, then the bug zoo
// (each a small variant of a design, switched on by name).
import { bpfMa } from './bpf-ma.ts';
import { bpfMaUpstream } from './bpf-ma-upstream.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';
import { freeAfterRcuGp } from './free-after-rcu-gp.ts';
import { percpuOnDemand } from './percpu-on-demand.ts';
import { slubPca } from './slub-pca.ts';
import { kmallocCallRcu } from './kmalloc-call-rcu.ts';
import { bpfMaAfterCallRcu } from './bpf-ma-after-call-rcu.ts';
import { unitFreeIgnoresActive } from './bug-unit-free-ignores-active.ts';
import { destroySkipsBarriers } from './bug-destroy-skips-barriers.ts';
import { drainWithoutAbortReuseBug } from './bug-drain-without-abort-reuse.ts';
import { pcaFreeFailLeaks } from './bug-pca-free-fail-leaks.ts';
import { pcaArrayNotFreed } from './bug-pca-array-not-freed.ts';
import { pcaBulkReturnsFreed } from './bug-pca-bulk-returns-freed.ts';
import { pcaRefillLeaks } from './bug-pca-refill-leaks.ts';
import { unitAllocRestoresEarly } from './bug-unit-alloc-restores-early.ts';
import { destroyDrainsBeforeSync } from './bug-destroy-drains-before-sync.ts';
import { unitAllocRefillsOnlyAfterPop } from './bug-unit-alloc-refills-only-after-pop.ts';
import { freeRcuTasksTraceDropsChain } from './bug-free-rcu-tasks-trace-drops-chain.ts';
import { memAllocForgetsHeader } from './bug-mem-alloc-forgets-header.ts';
import { memFreeDoubleHeader } from './bug-mem-free-double-header.ts';
import { cacheIdxNoUpperBound } from './bug-cache-idx-no-upper-bound.ts';
import { deferredFreeFreesCopyFirst } from './bug-deferred-free-frees-copy-first.ts';
import { allocGfpKernelBug } from './bug-alloc-gfp-kernel.ts';
import { bpfMaRaiseBeforeRestore } from './control-bpf-ma-raise-before-restore.ts';
import { reuseAfterRcuGpFixed } from './control-reuse-after-rcu-gp-fixed.ts';
import { percpuChunk } from './percpu-chunk.ts';
import { bpfMaOnPercpuChunk } from './bpf-ma-on-percpu-chunk.ts';
import { pcpuHintFromPartialScan } from './bug-pcpu-hint-from-partial-scan.ts';
import { pcpuAllocSkipsRelocate } from './bug-pcpu-alloc-skips-relocate.ts';
import { pcpuDepopulateKeepsPagep } from './bug-pcpu-depopulate-keeps-pagep.ts';
import { pcpuPopulateOneCpu } from './bug-pcpu-populate-one-cpu.ts';
import { pcpuHeadMergeKeepsFreeSize } from './bug-pcpu-head-merge-keeps-free-size.ts';
import { pcpuIgnoresAlign } from './bug-pcpu-ignores-align.ts';
import { pcpuKillKeepsPages } from './bug-pcpu-kill-keeps-pages.ts';
import { pcpuSplitKeepsTail } from './bug-pcpu-split-keeps-tail.ts';
import { pcpuAllocKeepsEntryFree } from './bug-pcpu-alloc-keeps-entry-free.ts';
import { pcpuFreeSkipsStatic } from './bug-pcpu-free-skips-static.ts';
import { upstreamDestroyWithoutDraining } from './bug-upstream-destroy-without-draining.ts';
import { upstreamFreeMemAllocSkipsFreeByRcuBarrier } from './bug-upstream-free-mem-alloc-skips-free-by-rcu-barrier.ts';
import { upstreamExtraRcuKeepsStaleTail } from './bug-upstream-extra-rcu-keeps-stale-tail.ts';
import { doCallRcuSkipsTasksTrace } from './bug-do-call-rcu-skips-tasks-trace.ts';
import { upstreamCacheFreeRcuCallsUnitFree } from './bug-upstream-cache-free-rcu-calls-unit-free.ts';
import { slubSheaves } from './slub-sheaves.ts';
import { kmallocNolock } from './kmalloc-nolock.ts';
import { slubSheavesRefillFlush } from './control-slub-sheaves-refill-flush.ts';
import { sheavesBulkFreeLeaksRemote } from './bug-sheaves-bulk-free-leaks-remote.ts';
import { sheavesNullBarn } from './bug-sheaves-null-barn.ts';
import { sheavesPfmemallocCached } from './bug-sheaves-pfmemalloc-cached.ts';
import { sheavesSlabCount } from './bug-sheaves-slab-count.ts';
import { nolockKfreeAllowsSpin } from './bug-nolock-kfree-allows-spin.ts';
import { htabFreeWithoutCallRcu } from './bug-htab-free-without-call-rcu.ts';
import { pcpuFreeSkipsRelocate } from './bug-pcpu-free-skips-relocate.ts';
import { freeAfterRcuGpRaiseBeforeRestore } from './control-free-after-rcu-gp-raise-before-restore.ts';
import { percpuOnDemandRaiseBeforeRestore } from './control-percpu-on-demand-raise-before-restore.ts';
import { percpuChunkFixed } from './control-percpu-chunk-fixed.ts';
import { upstreamFreeRcuClearsInProgressFirst } from './bug-upstream-free-rcu-clears-in-progress-first.ts';
import { upstreamAllocFlagsForgetsHint } from './bug-upstream-alloc-flags-forgets-hint.ts';
import { upstreamFreeBulkToOwnCpu } from './bug-upstream-free-bulk-to-own-cpu.ts';
import { irqWorkRaiseOwnQueueBug } from './bug-irq-work-raise-own-queue.ts';
import { percpuFreeByKsize } from './bug-percpu-free-by-ksize.ts';
import { pcaDestroyFlushesOnlineOnly } from './bug-pca-destroy-flushes-online-only.ts';
import { pcaCpuDead } from './control-pca-cpu-dead.ts';
import { pcaCpuDeadFlushesOwnCpu } from './bug-pca-cpu-dead-flushes-own-cpu.ts';
import { pcaDestroyKeepsCache } from './bug-pca-destroy-keeps-cache.ts';
import { irqWorkRaiseOwnQueueFixed } from './control-irq-work-raise-own-queue.ts';
import { bpfMaUpstreamAllocBulkDelAll } from './control-bpf-ma-upstream-alloc-bulk-del-all.ts';
import { bpfMaOnPercpuChunkFixed } from './control-bpf-ma-on-percpu-chunk-fixed.ts';
import type { Policy } from './policy.ts';

export const POLICIES: readonly Policy<any>[] = [
  bpfMa,
  bpfMaUpstream,
  reuseAfterRcuGp,
  freeAfterRcuGp,
  percpuOnDemand,
  slubPca,
  kmallocCallRcu,
  bpfMaAfterCallRcu,
  unitFreeIgnoresActive,
  destroySkipsBarriers,
  drainWithoutAbortReuseBug,
  pcaFreeFailLeaks,
  pcaArrayNotFreed,
  pcaBulkReturnsFreed,
  pcaRefillLeaks,
  unitAllocRestoresEarly,
  destroyDrainsBeforeSync,
  unitAllocRefillsOnlyAfterPop,
  freeRcuTasksTraceDropsChain,
  memAllocForgetsHeader,
  memFreeDoubleHeader,
  cacheIdxNoUpperBound,
  deferredFreeFreesCopyFirst,
  allocGfpKernelBug,
  bpfMaRaiseBeforeRestore,
  reuseAfterRcuGpFixed,
  percpuChunk,
  bpfMaOnPercpuChunk,
  pcpuHintFromPartialScan,
  pcpuAllocSkipsRelocate,
  pcpuDepopulateKeepsPagep,
  pcpuPopulateOneCpu,
  pcpuHeadMergeKeepsFreeSize,
  pcpuIgnoresAlign,
  pcpuKillKeepsPages,
  pcpuSplitKeepsTail,
  pcpuAllocKeepsEntryFree,
  pcpuFreeSkipsStatic,
  upstreamDestroyWithoutDraining,
  upstreamFreeMemAllocSkipsFreeByRcuBarrier,
  upstreamExtraRcuKeepsStaleTail,
  doCallRcuSkipsTasksTrace,
  upstreamCacheFreeRcuCallsUnitFree,
  slubSheaves,
  kmallocNolock,
  slubSheavesRefillFlush,
  sheavesBulkFreeLeaksRemote,
  sheavesNullBarn,
  sheavesPfmemallocCached,
  sheavesSlabCount,
  nolockKfreeAllowsSpin,
  htabFreeWithoutCallRcu,
  pcpuFreeSkipsRelocate,
  freeAfterRcuGpRaiseBeforeRestore,
  percpuOnDemandRaiseBeforeRestore,
  percpuChunkFixed,
  upstreamFreeRcuClearsInProgressFirst,
  upstreamAllocFlagsForgetsHint,
  upstreamFreeBulkToOwnCpu,
  irqWorkRaiseOwnQueueBug,
  percpuFreeByKsize,
  pcaDestroyFlushesOnlineOnly,
  pcaCpuDead,
  pcaCpuDeadFlushesOwnCpu,
  irqWorkRaiseOwnQueueFixed,
  bpfMaUpstreamAllocBulkDelAll,
  bpfMaOnPercpuChunkFixed,
  pcaDestroyKeepsCache,
];

export function findPolicy(name: string): Policy<any> | undefined {
  return POLICIES.find((p) => p.name === name);
}

/** The designs: every policy that is neither a zoo variant nor a control
 *  (opt-in designs included). */
export const DESIGNS = POLICIES.filter((p) => !p.bug && !p.control);
/** Designs `allocspec check` explores when no --policy is given. */
export const CORRECT_POLICIES = DESIGNS.filter((p) => !p.optIn);
/** correct designs explored only when named (Policy.optIn) */
export const OPT_IN = POLICIES.filter((p) => p.optIn);
export const ZOO = POLICIES.filter((p) => p.bug);
/** fixed versions of known bugs and findings: must stay clean */
export const CONTROLS = POLICIES.filter((p) => p.control);
/** Policies `allocspec check` explores when no --policy is given: the
 *  designs, then the controls of designs (each design with a known finding
 *  ships the finding fixed, judged with nothing excused). A control of a
 *  zoo variant (a fixed copy the zoo tests keep clean) is not among them. */
export const DEFAULT_CHECK = [...CORRECT_POLICIES, ...CONTROLS.filter((p) => !findPolicy(p.control!.of)?.bug)];
