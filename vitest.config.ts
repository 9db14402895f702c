import { defineConfig } from 'vitest/config';

// Tiers: test/spec, test/model, test/harness (fast, every commit);
// test/zoo (finds each known bug under fixed seeds); test/fixtures (replays
// every saved counterexample). No test asserts on time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'threads',
  },
});
