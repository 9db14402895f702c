import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import { runJobs, type JobSpec } from '../../harness/workers.ts';

describe('workers', () => {
  it('2 worker threads give the same job records as 1', async () => {
    const specs: JobSpec[] = ['bpf-ma', 'bug/destroy-skips-barriers', 'free-after-rcu-gp'].flatMap((policyRef, p) =>
      [CONFIGS.fixed!, CONFIGS.buckets!].map((config, c) => ({ n: p * 2 + c, policyRef, config, seed: 5 + c, runs: 15, promise: [], strategy: 'uniform' as const })),
    );
    const one = await runJobs(specs, 1);
    const two = await runJobs(specs, 2);
    expect(two).toEqual(one);
    expect(one.some((r) => r.counterexample)).toBe(true);
  }, 60_000);
});
