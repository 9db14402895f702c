// The CI gate: `replay DIR|FILES --expect` judges every fixture against the
// verdict it states; `check` replays a policy's saved fixtures first.
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { captureIo } from '../helpers/io.ts';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs('allocspec-gate-');
const ZOO = join(REPO, 'counterexamples', 'bug', 'unit-free-ignores-active');

describe('replay --expect', () => {
  it('exits 0 when every fixture under the directories ends as it states, 1 otherwise, with a summary', async () => {
    const dir = tmp();
    cpSync(ZOO, join(dir, 'a', 'bug', 'unit-free-ignores-active'), { recursive: true });
    const ok = captureIo();
    expect(await main(['replay', join(dir, 'a'), '--expect', '--hook-timeout', '0'], ok)).toBe(0);
    expect(ok.stdout()).toMatch(/^ok {3}\S+\.json: violation reproduces: \w+$/m);
    expect(ok.stdout()).toMatch(/^replay --expect: all 1 fixture\(s\) end as they state$/m);
    expect(ok.stdout()).not.toMatch(/^lanes:/m);

    // a fixture that states `holds` but violates: the gate fails and shows why
    const [name] = readdirSync(ZOO);
    const f = JSON.parse(readFileSync(join(ZOO, name!), 'utf8'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'holds.json'), JSON.stringify({ ...f, expect: { verdict: 'holds', invariant: null, message: null } }));
    const bad = captureIo();
    expect(await main(['replay', join(dir, 'a'), join(dir, 'b'), '--expect', '--hook-timeout', '0'], bad)).toBe(1);
    expect(bad.stdout()).toMatch(/^FAIL \S+holds\.json: violates \w+, but the fixture expects it to hold$/m);
    expect(bad.stdout()).toMatch(/^lanes:/m);
    expect(bad.stdout()).toMatch(/^replay --expect: 1 of 2 fixture\(s\) do not end as they state$/m);
  });

  it('a directory without fixtures is bad input: exit 2', async () => {
    const io = captureIo();
    expect(await main(['replay', tmp(), '--expect'], io)).toBe(2);
    expect(io.stderr()).toMatch(/^allocspec: \S+: no fixtures \(\.json files\) under this directory\n$/);
  });

  it('an unwritable --out: one line, exit 2', async () => {
    const io = captureIo();
    expect(await main(['replay', ZOO, '--format', 'json', '--out', join(tmp(), 'no', 'dir', 'x.json'), '--hook-timeout', '0'], io)).toBe(2);
    // (a stale fixture is warned about first; the error is the one allocspec: line)
    expect(io.stderr().split('\n').filter((l) => l.startsWith('allocspec:'))).toEqual([expect.stringMatching(/^allocspec: replay: --out \S+: cannot write \(ENOENT\)$/)]);
    expect(io.stderr()).toMatch(/cannot write \(ENOENT\)\n$/);
  });
});

describe('check replays saved fixtures first', () => {
  it('says so, and a saved counterexample that still violates fails the check', async () => {
    const dir = tmp();
    cpSync(ZOO, join(dir, 'bug', 'unit-free-ignores-active'), { recursive: true });
    const io = captureIo();
    expect(await main(['check', '--policy', 'bug/unit-free-ignores-active', '--config', 'fixed', '--runs', '1', '--fixtures', dir, '--quiet', '--hook-timeout', '0'], io)).toBe(1);
    expect(io.stdout().split('\n')[0]).toMatch(/^bug\/unit-free-ignores-active: replayed 1 saved counterexample\(s\) first \(\S+\/\): 1 still violate — FAILED: 1 regression\(s\)$/);
    // a fixed policy (bpf-ma) replaying the zoo's fixture: no longer violates
    const fixed = tmp();
    const f = JSON.parse(readFileSync(join(ZOO, readdirSync(ZOO)[0]!), 'utf8'));
    mkdirSync(join(fixed, 'bpf-ma'));
    writeFileSync(join(fixed, 'bpf-ma', 'old.json'), JSON.stringify({ ...f, policy: 'bpf-ma' }));
    const io2 = captureIo();
    expect(await main(['check', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '20', '--fixtures', fixed, '--quiet', '--hook-timeout', '0'], io2)).toBe(0);
    expect(io2.stdout()).toMatch(/^bpf-ma: replayed 1 saved counterexample\(s\) first \(\S+\/\): none violates any more$/m);
  });

  it('a known observation (noted, the run goes on) still counts as shown, not as "none violates any more"', async () => {
    // bpf-ma's NoAllocFailureWhileRefillStalled: a known finding of seed 004
    // that is an observation, so the replayed run is not ended by it
    const src = join(REPO, 'counterexamples', 'bpf-ma');
    const name = readdirSync(src).find((f) => f.startsWith('NoAllocFailureWhileRefillStalled-'))!;
    const dir = tmp();
    mkdirSync(join(dir, 'bpf-ma'));
    cpSync(join(src, name), join(dir, 'bpf-ma', name));
    const io = captureIo();
    expect(await main(['check', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '1', '--fixtures', dir, '--quiet', '--hook-timeout', '0'], io)).toBe(0);
    expect(io.stdout()).toMatch(/^bpf-ma: replayed 1 saved counterexample\(s\) first \(\S+\/\): 1 still violate \(1 known finding\)$/m);
  });
});
