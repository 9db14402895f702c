// The registry of built-in policies. Correct designs first, then the zoo.
import { bpfMa } from './bpf-ma.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';
import { freeAfterRcuGp } from './free-after-rcu-gp.ts';
import { drainWithoutAbortReuseBug } from './bug-drain-without-abort-reuse.ts';
import { destroySkipsBarriers } from './bug-destroy-skips-barriers.ts';
import { unitFreeIgnoresActive } from './bug-unit-free-ignores-active.ts';
import { percpuOnDemand } from './percpu-on-demand.ts';
import { slubPca } from './slub-pca.ts';
import { pcaFreeFailLeaks } from './bug-pca-free-fail-leaks.ts';
import { pcaArrayNotFreed } from './bug-pca-array-not-freed.ts';
import type { Policy } from './policy.ts';

export const POLICIES: readonly Policy<any>[] = [
  bpfMa, reuseAfterRcuGp, freeAfterRcuGp, unitFreeIgnoresActive, destroySkipsBarriers, drainWithoutAbortReuseBug,
  percpuOnDemand,
  slubPca,
  pcaFreeFailLeaks,
  pcaArrayNotFreed,
];

export function findPolicy(name: string): Policy<any> | undefined {
  return POLICIES.find((p) => p.name === name);
}

/** Policies `allocspec check` explores when no --policy is given. */
export const CORRECT_POLICIES = POLICIES.filter((p) => !p.bug);
export const ZOO = POLICIES.filter((p) => p.bug);
