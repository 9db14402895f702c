// One gate semantics (docs/ci.md; harness/regress.ts): `replay --expect`
// and check's regression-first replay judge every saved fixture alike. A
// counterexample found in a policy is red while it still violates and
// green once fixed; `replay --expect --update` records the fix; zoo
// variants and declared known findings keep "violates". Every fixture set
// is built here in a temporary directory (never the checkout's
// counterexamples/, which README examples add to).
import { cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { captureIo } from '../helpers/io.ts';
import { makeFixture } from '../harness/fixture-helpers.ts';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs('allocspec-gate-');

/** A zoo variant's fixture, found now, in dir/bug/unit-free-ignores-active/. */
function zooFixture(dir: string): string {
  return makeFixture(dir).file;
}

const gate = async (...args: string[]) => {
  const io = captureIo();
  const code = await main(['replay', ...args, '--expect', '--hook-timeout', '0'], io);
  return { code, out: io.stdout(), err: io.stderr() };
};
const check = async (policy: string, fixtures: string) => {
  const io = captureIo();
  const code = await main(['check', '--policy', policy, '--config', 'fixed', '--runs', '1', '--fixtures', fixtures, '--quiet', '--hook-timeout', '0'], io);
  return { code, out: io.stdout(), err: io.stderr() };
};

describe('replay --expect', () => {
  it("a zoo variant's fixture is green while it violates; a `holds` fixture that violates is red, one line with the replay command", async () => {
    const dir = tmp();
    zooFixture(join(dir, 'a'));
    const ok = await gate(join(dir, 'a'));
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^ok {3}\S+\.json: violation reproduces: Conservation \(a must-fail example: a zoo variant\)$/m);
    expect(ok.out).toMatch(/^replay --expect: all 1 fixture\(s\) end as the gate expects$/m);
    expect(ok.out).not.toMatch(/^lanes:/m);

    const a = join(dir, 'a', 'bug', 'unit-free-ignores-active');
    const f = JSON.parse(readFileSync(join(a, readdirSync(a)[0]!), 'utf8'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'holds.json'), JSON.stringify({ ...f, expect: { verdict: 'holds', invariant: null, message: null } }));
    const bad = await gate(join(dir, 'a'), join(dir, 'b'));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^FAIL \S+holds\.json: violates Conservation, but the fixture expects it to hold \(a recorded fix came undone\); replay: \S.*holds\.json$/m);
    // one line each, no pages of traces
    expect(bad.out).not.toMatch(/^lanes:/m);
    expect(bad.out.trimEnd().split('\n')).toHaveLength(3);
    expect(bad.out).toMatch(/^replay --expect: 1 of 2 fixture\(s\) do not end as the gate expects$/m);
  });

  it('a directory without fixtures is bad input: exit 2', async () => {
    const io = captureIo();
    expect(await main(['replay', tmp(), '--expect'], io)).toBe(2);
    expect(io.stderr()).toMatch(/^allocspec: \S+: no fixtures \(\.json files\) under this directory\n$/);
  });

  it('an unwritable --out: one line, exit 2', async () => {
    const dir = tmp();
    const file = zooFixture(dir);
    const io = captureIo();
    expect(await main(['replay', file, '--format', 'json', '--out', join(tmp(), 'no', 'dir', 'x.json'), '--hook-timeout', '0'], io)).toBe(2);
    expect(io.stderr()).toMatch(/^allocspec: replay: --out \S+: cannot write \(ENOENT: no directory \S+\)\n$/);
  });
});

describe("the gate and check agree: a bug in the user's own policy", () => {
  it('red while it violates; green once fixed; --expect --update records the fix; red again if the bug comes back', async () => {
    const proj = tmp();
    writeFileSync(join(proj, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(proj, 'node_modules'));
    symlinkSync(REPO, join(proj, 'node_modules', 'allocspec'));
    const good = readFileSync(join(REPO, 'docs', 'examples', 'my-policy.ts'), 'utf8');
    const broken = good.replace('localIncReturn(x, c.active)) === 1)', 'localIncReturn(x, c.active)) >= 1)');
    expect(broken).not.toBe(good);
    const policy = join(proj, 'my-policy.ts');
    const fixtures = join(proj, 'counterexamples');
    writeFileSync(policy, broken);
    const found = captureIo();
    // seed 2: the WARN_ON in the user's unit_alloc, found before any of
    // bpf-ma's known findings is hit (one fixture)
    expect(await main(['check', '--policy', policy, '--config', 'fixed', '--seed', '2', '--fixtures', fixtures, '--quiet', '--hook-timeout', '0'], found)).toBe(1);

    // broken: the gate is red (one line, the replay command), and so is check's regression replay
    const red = await gate(fixtures);
    expect(red.code).toBe(1);
    expect(red.out).toMatch(/^FAIL \S+\/my-eager-refill\/\S+\.json: still violates \w+ \(a counterexample found in my-eager-refill: red until the policy is fixed\); replay: .+$/m);
    const c1 = await check(policy, fixtures);
    expect(c1.code).toBe(1);
    expect(c1.out).toMatch(/^my-eager-refill: replayed 1 saved counterexample\(s\) first \(\S+\/\): 1 still violate — FAILED: 1 regression\(s\)$/m);

    // fixed: green, and check exits 0; neither blames a stale spec
    writeFileSync(policy, good);
    const green = await gate(fixtures);
    expect(green.code).toBe(0);
    expect(green.out).toMatch(/^ok {3}\S+\.json: fixed: \w+ no longer shows \(a counterexample found in my-eager-refill\)$/m);
    expect(green.out).toMatch(/^replay --expect: 1 fixed counterexample\(s\); record the fix with: .+ --expect --update$/m);
    expect(green.err).not.toMatch(/stale/);
    const c2 = await check(policy, fixtures);
    expect(c2.code).toBe(0);
    expect(c2.out).toMatch(/^my-eager-refill: replayed 1 saved counterexample\(s\) first \(\S+\/\): none violates any more; 1 fixed, record with: .+ --expect --update$/m);

    // the documented command records the fix: still green, the fixture now states `holds`
    const rec = await gate(fixtures, '--update');
    expect(rec.code).toBe(0);
    expect(rec.err).toMatch(/recorded the fix \(expect: holds/);
    const dir = join(fixtures, 'my-eager-refill');
    const saved = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8'));
    expect(saved.expect).toEqual({ verdict: 'holds', invariant: null, message: null });
    const after = await gate(fixtures);
    expect(after.code).toBe(0);
    expect(after.out).toMatch(/^ok {3}\S+\.json: holds, as the fixture expects$/m);
    expect(after.err).toBe('');
    expect((await check(policy, fixtures)).code).toBe(0);

    // the bug comes back: red in both
    writeFileSync(policy, broken);
    const back = await gate(fixtures);
    expect(back.code).toBe(1);
    expect(back.out).toMatch(/^FAIL \S+\.json: violates \w+, but the fixture expects it to hold \(a recorded fix came undone\); replay: /m);
    const c3 = await check(policy, fixtures);
    expect(c3.code).toBe(1);
    expect(c3.out).toMatch(/FAILED: 1 regression\(s\)/);
  }, 60_000);

  it("a zoo variant's fixture: green in the gate and not a regression in check (which still exits 1: the variant is a bug)", async () => {
    const dir = tmp();
    zooFixture(dir);
    expect((await gate(dir)).code).toBe(0);
    const c = await check('bug/unit-free-ignores-active', dir);
    expect(c.out.split('\n')[0]).toMatch(/^bug\/unit-free-ignores-active: replayed 1 saved counterexample\(s\) first \(\S+\/\): 1 still violate \(1 must-fail\)$/);
    expect(c.out).not.toMatch(/FAILED/);
    // a fixed policy (bpf-ma) replaying the zoo's commands: a found counterexample, fixed
    const fixed = tmp();
    const a = join(dir, 'bug', 'unit-free-ignores-active');
    const f = JSON.parse(readFileSync(join(a, readdirSync(a)[0]!), 'utf8'));
    mkdirSync(join(fixed, 'bpf-ma'));
    writeFileSync(join(fixed, 'bpf-ma', 'old.json'), JSON.stringify({ ...f, policy: 'bpf-ma' }));
    const c2 = await check('bpf-ma', fixed);
    expect(c2.code).toBe(0);
    expect(c2.out).toMatch(/^bpf-ma: replayed 1 saved counterexample\(s\) first \(\S+\/\): none violates any more; 1 fixed, record with: /m);
    expect((await gate(fixed)).code).toBe(0);
  });

  it('a known observation (noted, the run goes on) still counts as shown, and stays green', async () => {
    // bpf-ma's NoAllocFailureWhileRefillStalled: a known finding of seed 004
    const src = join(REPO, 'counterexamples', 'bpf-ma');
    const name = readdirSync(src).find((f) => f.startsWith('NoAllocFailureWhileRefillStalled-'))!;
    const dir = tmp();
    mkdirSync(join(dir, 'bpf-ma'));
    cpSync(join(src, name), join(dir, 'bpf-ma', name));
    const c = await check('bpf-ma', dir);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/^bpf-ma: replayed 1 saved counterexample\(s\) first \(\S+\/\): 1 still violate \(1 known finding\)$/m);
    const g = await gate(dir);
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/violation reproduces: NoAllocFailureWhileRefillStalled, known finding refill-claimed-then-preempted \(its signature matches\)$/m);
  });
});
