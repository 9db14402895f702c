import { defineConfig } from 'vitest/config';

// The deep tier (`npm run test:deep`; .ci/run runs it after `npm test`):
// the must-fail soaks with every seed (test/helpers/tier.ts), the files
// that are soaks as a whole (test/deep/). No test asserts on time.
export default defineConfig({
  test: {
    // (and the files whose DEEP branches widen a proof: prove's zoo and
    // scenarios, the exhaustive reductions a depth deeper, the exhaustive
    // zoo and comparisons in full)
    include: ['test/zoo/**/*.test.ts', 'test/deep/**/*.test.ts', 'test/prove/**/*.test.ts', 'test/harness/exhaustive-reductions.test.ts', 'test/harness/exhaustive.test.ts'],
    env: { ALLOCSPEC_TIER: 'deep' },
    setupFiles: ['test/setup.ts'],
    testTimeout: 1_200_000,
    hookTimeout: 120_000,
    pool: 'threads',
  },
});
