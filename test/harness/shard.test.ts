import { describe, expect, it } from 'vitest';
import { CHUNK_RUNS, chunkSeed, chunksOf, inShard, jobsOf, mergeChunks, parseShard, type JobRecord } from '../../harness/shard.ts';
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
  it("cuts a job's budget into chunks by the budget alone; chunk 0 keeps the job's seed", () => {
    expect(chunksOf(7, 1200, 500)).toEqual([
      { i: 0, seed: 7, runs: 500 },
      { i: 1, seed: chunkSeed(7, 1), runs: 500 },
      { i: 2, seed: chunkSeed(7, 2), runs: 200 },
    ]);
    expect(chunksOf(7, 20)).toEqual([{ i: 0, seed: 7, runs: 20 }]);
    expect(chunksOf(1, 5000).length).toBe(5000 / CHUNK_RUNS);
    // seeds: fast-check seeds (31 bits), distinct across chunks and from
    // the next configurations' job seeds (seed + c)
    const seeds = [1, 2, 3].flatMap((s) => chunksOf(s, 5000).map((c) => c.seed));
    expect(new Set(seeds).size).toBe(seeds.length);
    for (const s of seeds) expect(s >= 0 && s <= 2 ** 31 - 1 && Number.isInteger(s)).toBe(true);
  });
  it("merges a job's chunk records in chunk order", () => {
    const rec = (o: Partial<JobRecord>): JobRecord => ({
      n: 0, policy: 'p', config: 'fixed', faults: ['kmalloc'], runs: 5, steps: 10, commands: 20, effective: 15, states: [], situations: [], budget: 5,
      runsToEnd: 5, shrinkRuns: 0, known: [], knownHits: {}, counterexample: null, ...o,
    });
    const k = (invariant: 'Conservation' | 'NoDeadlock', seed: number) => ({ invariant, message: 'm', seed, path: '0', commands: [] });
    const cx = { invariant: 'NoDeadlock' as const, message: 'x', seed: 9, path: '1:0', commands: [] };
    const m = mergeChunks(3, 15, [
      rec({ states: [3, 1], situations: [['a', 1]], known: [k('Conservation', 1)], knownHits: { Conservation: 2 }, runsToEnd: 3 }),
      rec({ states: [2, 3], situations: [['b', 2], ['a', 4]], known: [k('Conservation', 8)], knownHits: { Conservation: 1 }, runsToEnd: 4 }),
      rec({ runs: 2, runsToEnd: 1, shrinkRuns: 7, counterexample: cx }),
    ]);
    expect(m).toMatchObject({ n: 3, budget: 15, runs: 12, runsToEnd: 8, steps: 30, commands: 60, effective: 45, shrinkRuns: 7, states: [1, 2, 3], counterexample: cx, knownHits: { Conservation: 3 } });
    expect(m.situations).toEqual([['a', 5], ['b', 2]]);
    expect(m.known.map((x) => x.seed)).toEqual([1]);
  });
});
