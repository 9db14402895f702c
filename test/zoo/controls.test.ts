// The controls (spec/policies/index.ts, CONTROLS): fixed versions of known
// bugs and findings hold every invariant, with no known finding, in every
// default configuration.
import { describe, expect, it } from 'vitest';
import { CONFIGS, DEFAULT_PROFILE } from '../../harness/config.ts';
import { explore } from '../../harness/explore.ts';
import { CONTROLS } from '../../spec/policies/index.ts';
import { soakSeeds } from '../helpers/tier.ts';

// the gate: seed 1; npm run test:deep: seeds 1..3 (test/helpers/tier.ts)
const SEEDS = soakSeeds(1, 3);

describe.each(CONTROLS.map((p) => [p.name, p] as const))('%s (control)', (_name, policy) => {
  it.each(DEFAULT_PROFILE)(`holds every invariant, with no known finding, in config %s (${SEEDS.length === 1 ? "seed 1; npm run test:deep: seeds 1..3" : "seeds 1..3"})`, (c) => {
    for (const seed of SEEDS) {
      const r = explore(policy, CONFIGS[c]!, { seed, runs: 1000 });
      expect(r.counterexample, `seed ${seed}: ${r.counterexample?.message}`).toBeNull();
      expect(r.known).toEqual([]);
      expect(r.runsToEnd).toBe(1000);
    }
  }, 600_000);
});
