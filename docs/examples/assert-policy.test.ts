// A policy checked from a test suite (vitest here; jest alike): assertPolicy
// resolves when every invariant holds and rejects with the trace, the saved
// fixture and the command that replays it (docs/policy-api.md, "From a
// test suite").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertPolicy, checkPolicy } from 'allocspec';
import { bpfMa } from 'allocspec/spec/policies/bpf-ma.ts';
import myPolicy from './my-policy.ts';

// counterexamples of this example go to a temporary directory; a real
// suite keeps the default, ./counterexamples, and commits them
const fixtures = mkdtempSync(join(tmpdir(), 'allocspec-example-'));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

describe('allocator policies', () => {
  it('bpf-ma holds every invariant', async () => {
    const r = await assertPolicy(bpfMa, { configs: ['fixed'], runs: 200, fixturesDir: fixtures });
    expect(r.policy.counterexample).toBeNull();
  });

  it('a policy of your own, as an object, holds too', async () => {
    await assertPolicy(myPolicy, { configs: ['fixed'], runs: 200, fixturesDir: fixtures });
  });

  it('a zoo variant fails, with the trace, the fixture and the replay command', async () => {
    await expect(assertPolicy('bug/unit-free-ignores-active', { configs: ['fixed'], runs: 500, fixturesDir: fixtures })).rejects.toThrow(
      /violates \w+ \(config fixed, seed 1, path [\d:]+\)\n {2}fixture: .*\.json\n {2}replay: .*replay .*\.json\n[\s\S]*lanes: [\s\S]*✗ \w+: /,
    );
  });

  it('checkPolicy returns the report instead of throwing', async () => {
    const r = await checkPolicy('bug/unit-free-ignores-active', { configs: ['fixed'], runs: 500, fixturesDir: fixtures });
    expect(r.exit).toBe(1);
    expect(r.failures[0]!.fixture).toMatch(/\.json$/);
    expect(r.report.policies[0]!.invariants[r.failures[0]!.invariant]).toBe('violated');
  });
});
