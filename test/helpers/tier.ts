// Test tiers. `npm test` is the gate (every commit; under 4 minutes on the
// idle 2-core machine); `npm run test:deep` (vitest.deep.config.ts, which
// sets ALLOCSPEC_TIER=deep) is the exhaustive tier that .ci/run also runs.
// A must-fail soak keeps every seed in the deep tier and a few in the gate:
// nothing is deleted, only slimmed where the deep tier keeps the whole of it.

export const DEEP = process.env.ALLOCSPEC_TIER === 'deep';

/** Seeds 1..all in the deep tier, 1..gate in the gate. */
export function soakSeeds(gate: number, all = 20): number[] {
  return Array.from({ length: DEEP ? all : gate }, (_, i) => i + 1);
}

/** How a soak's title names its seeds. */
export function seedsText(seeds: readonly number[]): string {
  return `seeds 1..${seeds.length}${DEEP ? '' : ' (npm run test:deep: 1..20)'}`;
}
