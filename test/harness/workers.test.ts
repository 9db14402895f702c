import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import { sourceBundle } from '../../harness/bundle.ts';
import { main } from '../../harness/cli.ts';
import { dispatchOrder, jobCost, runJobChunked, runJobs, type JobSpec } from '../../harness/job.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { captureIo } from '../helpers/io.ts';
import { tmpDirs } from '../cli/tmp.ts';
import type { JobRecord } from '../../harness/shard.ts';

const tmp = tmpDirs('allocspec-workers-');

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

  it("one job's runs spread over the workers: the same records in this thread and on 1, 2 or 3 workers", async () => {
    // chunks of 5 runs: the zoo variant's first counterexample (seed 11)
    // is in its second chunk (run 9; since pcpu_map() failures joined the
    // percpu-chunk faults), the known findings are hit in several chunks
    const spec = (n: number, policyRef: string, config: keyof typeof CONFIGS, seed: number): JobSpec => ({ n, policyRef, config: CONFIGS[config]!, seed, runs: 30, chunk: 5, promise: [], strategy: 'uniform' });
    const specs = [spec(0, 'bug/pcpu-depopulate-keeps-pagep', 'fixed', 11), spec(1, 'reuse-after-rcu-gp', 'fixed', 1), spec(2, 'percpu-chunk', 'fixed', 1)];
    const inline = specs.map((s) => runJobChunked(s, findPolicy(s.policyRef)!));
    expect(await runJobs(specs, 1)).toEqual(inline);
    for (const workers of [1, 2, 3]) expect(await runJobs(specs, workers, undefined, { hookTimeout: 60_000 })).toEqual(inline);
    const [zoo, reuse, chunk] = inline as [JobRecord, JobRecord, JobRecord];
    // the counterexample of the lowest chunk that found one; the chunks
    // after it not run (and not counted)
    expect(zoo.counterexample?.invariant).toBe('PcpuLiveAreaPopulated');
    expect(zoo.runs).toBe(9);
    expect(zoo.budget).toBe(30);
    // every chunk of a job without a counterexample counted
    for (const r of [reuse, chunk]) {
      expect(r.counterexample).toBeNull();
      expect([r.runs, r.budget]).toEqual([30, 30]);
      expect(r.known.length).toBe(Object.keys(r.findingHits ?? {}).length);
    }
    // a known finding's example comes from the first chunk that hit it
    // (chunk 0 runs with the job's seed)
    expect(chunk.known.map((k) => k.seed)).toContain(1);
    // and a budget of one chunk runs as the uncut job did
    const one = { ...specs[1]!, runs: 5 };
    expect(runJobChunked(one, findPolicy('reuse-after-rcu-gp')!)).toEqual(runJobChunked({ ...one, chunk: 500 }, findPolicy('reuse-after-rcu-gp')!));
  }, 120_000);

  it('hands out the costliest jobs first, ties in job order', () => {
    const spec = (n: number, config: keyof typeof CONFIGS): JobSpec => ({ n, policyRef: 'bpf-ma', config: CONFIGS[config]!, seed: 1, runs: 10, promise: [], strategy: 'uniform' });
    const specs = [spec(0, 'fixed'), spec(1, 'buckets'), spec(2, 'rt'), spec(3, 'wide'), spec(4, 'buckets')];
    expect(jobCost(specs[1]!)).toBeGreaterThan(jobCost(specs[0]!));
    expect(dispatchOrder(specs)).toEqual([1, 4, 3, 0, 2]);
  });

  it('a policy file given by path runs in workers, with the same records as inline', async () => {
    const repo = resolve(import.meta.dirname, '..', '..');
    const dir = tmp();
    const file = join(dir, 'mine.ts');
    writeFileSync(file, `import { bpfMa } from '${repo}/spec/policies/bpf-ma.ts';\nexport default { ...bpfMa, name: 'mine' };\n`);
    const specs: JobSpec[] = [CONFIGS.fixed!, CONFIGS.buckets!].map((config, c) => ({ n: c, policyRef: file, config, seed: 3, runs: 10, promise: [], strategy: 'uniform' as const }));
    const one = await runJobs(specs, 1);
    const two = await runJobs(specs, 2);
    expect(two).toEqual(one);
    expect(two.map((r) => [r.policy, r.policyFile])).toEqual([
      ['mine', file],
      ['mine', file],
    ]);
    // and through the command line
    const io = captureIo();
    expect(await main(['check', '--policy', file, '--config', 'fixed,buckets', '--runs', '20', '--workers', '2', '--quiet', '--fixtures', join(dir, 'cx')], io)).toBe(0);
    expect(io.stdout()).toMatch(/^mine\s+ok/m);
  }, 60_000);

  it('a policy whose hook throws in a worker is reported as inline', async () => {
    const repo = resolve(import.meta.dirname, '..', '..');
    const dir = tmp();
    const file = join(dir, 'broken.ts');
    writeFileSync(
      file,
      `import { bpfMa } from '${repo}/spec/policies/bpf-ma.ts';\n` +
        `export default { ...bpfMa, name: 'broken', free: function* () { throw new Error('boom'); } };\n`,
    );
    const io = captureIo();
    expect(await main(['check', '--policy', file, '--config', 'fixed,buckets', '--runs', '50', '--workers', '2', '--quiet'], io)).toBe(2);
    expect(io.stderr()).toMatch(/policy broken: hook free threw at step \d+/);
  }, 60_000);

  it('the bundle of the sources is one plain JavaScript file, reused while the sources are unchanged', async () => {
    const a = await sourceBundle();
    const b = await sourceBundle();
    expect(b).toBe(a);
    expect(a).toMatch(/node_modules[\\/]\.cache[\\/]allocspec[\\/]bundle-[0-9a-f]{8}-[0-9a-f]{16}\.mjs$/);
    expect(existsSync(a)).toBe(true);
    const text = readFileSync(a, 'utf8');
    // no TypeScript loader at startup: tsx only when a policy file is loaded
    expect(text).not.toMatch(/^import .* from ["']tsx/m);
    // sources keep their own import.meta.url (harness/fixture.ts's ROOT)
    expect(text).toContain(JSON.stringify(new URL('../../harness/fixture.ts', import.meta.url).href));
  });
});
