// "Finds this bug" tier for seed 002's review (and the seed-000/002
// correct policies holding under the same generator).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cmdArbitrary } from '../../harness/commands.ts';
import { CONFIGS, type CheckConfig } from '../../harness/config.ts';
import { Sim, genCtx } from '../../harness/sim.ts';
import { knownObservations } from '../../harness/shrink.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { pcaArrayNotFreed } from '../../spec/policies/bug-pca-array-not-freed.ts';
import { pcaBulkReturnsFreed } from '../../spec/policies/bug-pca-bulk-returns-freed.ts';
import { pcaFreeFailLeaks } from '../../spec/policies/bug-pca-free-fail-leaks.ts';
import { pcaRefillLeaks } from '../../spec/policies/bug-pca-refill-leaks.ts';
import { percpuOnDemand } from '../../spec/policies/percpu-on-demand.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import { slubPca } from '../../spec/policies/slub-pca.ts';
import { soakSeeds } from '../helpers/tier.ts';

/** The first violation in up to `runs` generated runs of one seed. */
function explore(policy: Policy<any>, cfg: CheckConfig, seed: number, runs: number): { run: number; v: Violation } | null {
  const arb = fc.array(cmdArbitrary(genCtx(policy, cfg)), { maxLength: cfg.maxCommands });
  let run = 0;
  for (const cmds of fc.sample(arb, { seed, numRuns: runs })) {
    run++;
    const sim = new Sim(policy, cfg, { tolerate: knownObservations(policy) });
    try {
      for (const c of cmds) sim.exec(c);
      sim.finish();
    } catch (e) {
      if (e instanceof Violation) return { run, v: e };
      throw e;
    }
  }
  return null;
}

// the gate: seeds 1..3; npm run test:deep: 1..20 (test/helpers/tier.ts)
const SEEDS = soakSeeds(3);

// variant, the invariants it may break, what the message must name
const ZOO: [Policy<any>, string[], RegExp][] = [
  [pcaFreeFailLeaks, ['Conservation', 'NoLeakAtTeardown'], /lost|never returned/],
  [pcaArrayNotFreed, ['NoLeakAtTeardown'], /s->cpu_array/],
  // the caller frees the surplus of a bulk of 3 or 4 at once: a double free
  [pcaBulkReturnsFreed, ['Conservation'], /already freed to slab|already in slab|lost/],
  [pcaRefillLeaks, ['Conservation', 'NoLeakAtTeardown'], /lost|never returned/],
];

for (const [policy, invariants, detail] of ZOO) {
  describe(`${policy.name} is found`, () => {
    it.each(SEEDS)('seed %i', (seed) => {
      const r = explore(policy, CONFIGS.fixed!, seed, 2000);
      expect(r).not.toBeNull();
      expect(invariants).toContain(r!.v.invariant);
      expect(r!.v.detail).toMatch(detail);
    });
  });
}

describe('the correct policies hold', () => {
  for (const policy of [slubPca, percpuOnDemand]) {
    for (const cn of ['fixed', 'buckets', 'wide']) {
      it(`${policy.name} on ${cn}, seeds 1..3`, () => {
        for (const seed of [1, 2, 3]) expect(explore(policy, CONFIGS[cn]!, seed, 300)).toBeNull();
      });
    }
  }
});
