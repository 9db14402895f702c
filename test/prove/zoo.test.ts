// Must-show of issue 20: prove finds the zoo variants (and the deep variant
// the random search does not reach) at preemption bound <= 2, each with a
// fixture that replays to its violation; the correct policies' default
// scenarios are complete. The gate runs the quick ones; npm run test:deep
// all of them and the full default sets of bpf-ma, bpf-ma-upstream and
// slub-pca.
import { describe, expect, it } from 'vitest';
import { prove, type ProveReport } from '../../harness/prove/prove.ts';
import { resolvePolicy } from '../../harness/policies.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { loadFixture } from '../../harness/replay.ts';
import { fixtureRun, judgeFixture } from '../../harness/regress.ts';
import { captureIo } from '../helpers/io.ts';
import { DEEP } from '../helpers/tier.ts';
import { REPO, tmpDirs } from '../cli/tmp.ts';
import { join } from 'node:path';

const tmp = tmpDirs();

async function proveOne(policy: string, scenario: string | null, dir: string): Promise<ProveReport> {
  const p = policy.endsWith('.ts') ? await resolvePolicy(join(REPO, policy)) : { policy: findPolicy(policy)! };
  return prove(
    { policies: [p], scenarios: scenario ? [scenario] : [], preemptions: 2, interrupts: null, dpor: true, maxExecutions: 200_000, promise: [], fixturesDir: dir, quiet: true, shard: null, split: 0 },
    captureIo(),
  ).report;
}

const FOUND: [string, string, string][] = [
  ['bug/unit-free-ignores-active', 'nmi-free-in-unit-free', 'FreeCntMatchesList'],
  ['bug/destroy-skips-barriers', 'teardown-vs-callbacks', 'TeardownBarriers'],
  ['bug/drain-without-abort-reuse', 'teardown-vs-reuse-cb', 'NoLeakAtTeardown'],
  ['bug/unit-alloc-restores-early', 'nmi-alloc-in-refill', 'NoKernelWarn'],
  ['spec/policies/deep-alloc-bulk-clamps-after-loop.ts', 'nmi-in-long-refill', 'FreeCntMatchesList'],
  ['bug/upstream-destroy-without-draining', 'teardown-vs-free-by-rcu', 'TeardownBarriers'],
];

describe('prove finds the zoo at preemption bound <= 2, with a fixture replay reproduces', () => {
  for (const [policy, scenario, invariant] of DEEP ? FOUND : FOUND.slice(0, 4)) {
    it(`${policy} (${scenario})`, async () => {
      const r = await proveOne(policy, scenario, tmp());
      const s = r.results[0]!.scenarios[0]!;
      expect(s.verdict).toBe('violates');
      expect(s.violation!.invariant).toBe(invariant);
      const f = await loadFixture(s.violation!.fixture);
      const got = fixtureRun(f.policy, f.fixture);
      expect(judgeFixture(f.policy, f.fixture, got?.invariant ?? null).ok).toBe(true);
      expect(got?.invariant).toBe(invariant);
    });
  }
});

describe.runIf(DEEP)('prove: the correct policies hold, every default scenario complete', () => {
  for (const policy of ['bpf-ma', 'bpf-ma-upstream', 'slub-pca']) {
    it(policy, async () => {
      const r = await proveOne(policy, null, tmp());
      const rows = r.results[0]!.scenarios;
      expect(rows.length).toBeGreaterThanOrEqual(3);
      for (const s of rows) expect([s.name, s.verdict, s.complete]).toEqual([s.name, 'holds', true]);
    }, 600_000);
  }
});
