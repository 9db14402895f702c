// The controls (spec/policies/index.ts, CONTROLS): fixed versions of known
// bugs and findings hold every invariant, with no known finding, in every
// default configuration.
import { describe, expect, it } from 'vitest';
import { CONFIGS, DEFAULT_PROFILE } from '../../harness/config.ts';
import { explore } from '../../harness/explore.ts';
import { CONTROLS } from '../../spec/policies/index.ts';
import { DEEP, soakSeeds } from '../helpers/tier.ts';

// the gate: seed 1 at 500 runs; npm run test:deep: seeds 1..3 at 1000 (test/helpers/tier.ts)
const SEEDS = soakSeeds(1, 3);
const RUNS = DEEP ? 1000 : 500;

describe.each(CONTROLS.map((p) => [p.name, p] as const))('%s (control)', (_name, policy) => {
  it.each(DEFAULT_PROFILE)(`holds every invariant, with no known finding, in config %s (${SEEDS.length === 1 ? `seed 1, ${RUNS} runs; npm run test:deep: seeds 1..3, 1000 runs` : "seeds 1..3"})`, (c) => {
    for (const seed of SEEDS) {
      const r = explore(policy, CONFIGS[c]!, { seed, runs: RUNS });
      expect(r.counterexample, `seed ${seed}: ${r.counterexample?.message}`).toBeNull();
      expect(r.known).toEqual([]);
      expect(r.runsToEnd).toBe(RUNS);
    }
  }, 600_000);
});
