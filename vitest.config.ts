import { defineConfig } from 'vitest/config';

// `npm test`, the gate: test/spec, test/model, test/harness, test/cli (the
// command line, and the packed package installed in a temporary project);
// test/zoo (finds each known bug, a few seeds each: test/helpers/tier.ts);
// test/fixtures (replays every saved counterexample). The deep tier is
// vitest.deep.config.ts (`npm run test:deep`, also run by .ci/run): every
// seed of the soaks, and test/deep/. No test asserts on time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/deep/**', '**/node_modules/**'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'threads',
    // both cores (vitest's default leaves one idle: cores - 1); the tests
    // that start worker threads or processes of their own share them
    maxWorkers: 2,
  },
});
