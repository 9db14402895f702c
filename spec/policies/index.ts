// The registry of built-in policies: the designs first, then the bug zoo
// (each a small variant of a design, switched on by name).
import { bpfMa } from './bpf-ma.ts';
import { bpfMaUpstream } from './bpf-ma-upstream.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';
import { freeAfterRcuGp } from './free-after-rcu-gp.ts';
import { percpuOnDemand } from './percpu-on-demand.ts';
import { slubPca } from './slub-pca.ts';
import { unitFreeIgnoresActive } from './bug-unit-free-ignores-active.ts';
import { destroySkipsBarriers } from './bug-destroy-skips-barriers.ts';
import { drainWithoutAbortReuseBug } from './bug-drain-without-abort-reuse.ts';
import { pcaFreeFailLeaks } from './bug-pca-free-fail-leaks.ts';
import { pcaArrayNotFreed } from './bug-pca-array-not-freed.ts';
import { pcaBulkReturnsFreed } from './bug-pca-bulk-returns-freed.ts';
import { pcaRefillLeaks } from './bug-pca-refill-leaks.ts';
import { upstreamDestroyWithoutDraining } from './bug-upstream-destroy-without-draining.ts';
import { upstreamFreeMemAllocSkipsFreeByRcuBarrier } from './bug-upstream-free-mem-alloc-skips-free-by-rcu-barrier.ts';
import { upstreamExtraRcuKeepsStaleTail } from './bug-upstream-extra-rcu-keeps-stale-tail.ts';
import type { Policy } from './policy.ts';

export const POLICIES: readonly Policy<any>[] = [
  bpfMa,
  bpfMaUpstream,
  reuseAfterRcuGp,
  freeAfterRcuGp,
  percpuOnDemand,
  slubPca,
  unitFreeIgnoresActive,
  destroySkipsBarriers,
  drainWithoutAbortReuseBug,
  pcaFreeFailLeaks,
  pcaArrayNotFreed,
  pcaBulkReturnsFreed,
  pcaRefillLeaks,
  upstreamDestroyWithoutDraining,
  upstreamFreeMemAllocSkipsFreeByRcuBarrier,
  upstreamExtraRcuKeepsStaleTail,
];

export function findPolicy(name: string): Policy<any> | undefined {
  return POLICIES.find((p) => p.name === name);
}

/** Policies `allocspec check` explores when no --policy is given. */
export const CORRECT_POLICIES = POLICIES.filter((p) => !p.bug);
export const ZOO = POLICIES.filter((p) => p.bug);
