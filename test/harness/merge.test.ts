import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../harness/check.ts';
import { CONFIGS } from '../../harness/config.ts';
import { mergeReports } from '../../harness/merge.ts';
import { checkJobs } from '../../harness/check.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { tmpDirs } from '../cli/tmp.ts';

const tmp = tmpDirs('allocspec-merge-');

const io: Io = { out: () => {}, err: () => {}, tty: false };
const untimed = (r: object): unknown => ({ ...r, stepsPerSecond: 0, elapsedSeconds: 0 });

describe('merge', () => {
  it('--shard 1/2 + --shard 2/2 merged equals the unsharded run', async () => {
    const dir = tmp();
    const opts = (json: string) => ({
      policies: ['bpf-ma', 'bug/unit-free-ignores-active', 'reuse-after-rcu-gp'].map((n) => ({ policy: findPolicy(n)! })),
      configs: [CONFIGS.fixed!, CONFIGS.rt!, CONFIGS.percpu!],
      seed: 3,
      runs: 20,
      promise: [],
      json: join(dir, json),
      fixturesDir: join(dir, 'fx'),
      quiet: true,
    });
    const whole = await checkJobs(opts('all.json'), io, { workers: 1, shard: null, strategy: 'uniform' });
    for (const i of [1, 2]) await checkJobs(opts(`s${i}.json`), io, { workers: 1, shard: { index: i, count: 2 }, strategy: 'uniform' });
    const parts = [1, 2].map((i) => JSON.parse(readFileSync(join(dir, `s${i}.json`), 'utf8')));
    const merged = mergeReports(parts);
    expect(untimed(merged)).toEqual(untimed(whole.report));
    expect(untimed(merged)).toEqual(untimed(JSON.parse(readFileSync(join(dir, 'all.json'), 'utf8'))));
    expect(() => mergeReports([parts[0]])).toThrow(/missing shard/);
  }, 60_000);
});
