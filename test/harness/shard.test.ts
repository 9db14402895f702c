import { describe, expect, it } from 'vitest';
import { inShard, jobsOf, parseShard } from '../../harness/shard.ts';
import { UsageError } from '../../harness/errors.ts';

describe('shard', () => {
  it('parses i/n and rejects the rest', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(UsageError);
  });
  it('partitions the jobs: every job in exactly one shard', () => {
    const jobs = jobsOf(3, 4, 10);
    expect(jobs.map((j) => j.seed).slice(0, 4)).toEqual([10, 11, 12, 13]);
    for (const n of [1, 2, 3, 5]) {
      const shards = Array.from({ length: n }, (_, i) => jobs.filter((j) => inShard(j, { index: i + 1, count: n })).map((j) => j.n));
      expect(shards.flat().sort((a, b) => a - b)).toEqual(jobs.map((j) => j.n));
    }
  });
});
