// "Finds this bug" tier for seed 002's review (and the seed-000/002
// correct policies holding under the same generator).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cmdArbitrary } from '../../harness/commands.ts';
import { CONFIGS, type CheckConfig } from '../../harness/config.ts';
import { Sim } from '../../harness/sim.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { pcaArrayNotFreed } from '../../spec/policies/bug-pca-array-not-freed.ts';
import { pcaBulkReturnsFreed } from '../../spec/policies/bug-pca-bulk-returns-freed.ts';
import { pcaFreeFailLeaks } from '../../spec/policies/bug-pca-free-fail-leaks.ts';
import { pcaRefillLeaks } from '../../spec/policies/bug-pca-refill-leaks.ts';
import { percpuOnDemand } from '../../spec/policies/percpu-on-demand.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import { slubPca } from '../../spec/policies/slub-pca.ts';

/** The first violation in up to `runs` generated runs of one seed. */
function explore(policy: Policy<any>, cfg: CheckConfig, seed: number, runs: number): { run: number; v: Violation } | null {
  const arb = fc.array(cmdArbitrary(cfg, new Sim(policy, cfg).faultKinds), { maxLength: cfg.maxCommands });
  let run = 0;
  for (const cmds of fc.sample(arb, { seed, numRuns: runs })) {
    run++;
    const sim = new Sim(policy, cfg);
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

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

describe('bug/pca-free-fail-leaks is found', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, () => {
      const r = explore(pcaFreeFailLeaks, CONFIGS.fixed!, seed, 2000);
      expect(r).not.toBeNull();
      expect(['Conservation', 'NoLeakAtTeardown']).toContain(r!.v.invariant);
      expect(r!.v.detail).toMatch(/lost|never returned/);
    });
  }
});

describe('bug/pca-array-not-freed is found', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, () => {
      const r = explore(pcaArrayNotFreed, CONFIGS.fixed!, seed, 2000);
      expect(r).not.toBeNull();
      expect(r!.v.invariant).toBe('NoLeakAtTeardown');
      expect(r!.v.detail).toContain('s->cpu_array');
    });
  }
});

describe('bug/pca-bulk-returns-freed (seed 002 as written) is found', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, () => {
      const r = explore(pcaBulkReturnsFreed, CONFIGS.fixed!, seed, 2000);
      expect(r).not.toBeNull();
      expect(r!.v.invariant).toBe('Conservation');
      expect(r!.v.detail).toMatch(/already freed to slab|lost/);
    });
  }
});

describe('bug/pca-refill-leaks is found', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}`, () => {
      const r = explore(pcaRefillLeaks, CONFIGS.fixed!, seed, 2000);
      expect(r).not.toBeNull();
      expect(['Conservation', 'NoLeakAtTeardown']).toContain(r!.v.invariant);
      expect(r!.v.detail).toMatch(/lost|never returned/);
    });
  }
});

describe('the correct policies hold', () => {
  for (const policy of [slubPca, percpuOnDemand]) {
    for (const cn of ['fixed', 'buckets', 'wide']) {
      it(`${policy.name} on ${cn}, seeds 1..3`, () => {
        for (const seed of [1, 2, 3]) expect(explore(policy, CONFIGS[cn]!, seed, 300)).toBeNull();
      });
    }
  }
});
