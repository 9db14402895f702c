import { defineConfig } from 'vitest/config';

// The deep tier (`npm run test:deep`; .ci/run runs it after `npm test`):
// the must-fail soaks with every seed (test/helpers/tier.ts), the files
// that are soaks as a whole (test/deep/). No test asserts on time.
export default defineConfig({
  test: {
    include: ['test/zoo/**/*.test.ts', 'test/deep/**/*.test.ts'],
    env: { ALLOCSPEC_TIER: 'deep' },
    testTimeout: 1_200_000,
    hookTimeout: 120_000,
    pool: 'threads',
  },
});
