// Replay: byte-identical output, verdicts and exit codes, stale and changed
// fixtures, regeneration by seed, and a fixture left by a killed run.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { replayFixture } from '../../harness/replay.ts';
import { makeFixture, run, tmp, variant } from './fixture-helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;
let good: string;
let savedTrace: string;
beforeAll(() => {
  dir = tmp();
  ({ file: good, trace: savedTrace } = makeFixture(dir));
});

describe('replay FILE', () => {
  it('reproduces: the saved trace, the verdict, exit 1', async () => {
    const r = await run(['replay', good]);
    expect(r.code).toBe(1);
    expect(r.out.startsWith(savedTrace)).toBe(true);
    expect(r.out.endsWith(`${good}: violation reproduces: Conservation\n`)).toBe(true);
  });

  it('is byte-identical run after run, in every format', async () => {
    for (const format of ['text', 'json', 'mermaid', 'html']) {
      const a = await run(['replay', '--format', format, good]);
      const b = await run(['replay', '--format', format, good]);
      expect(a.out.length).toBeGreaterThan(100);
      expect(b.out).toBe(a.out);
      expect(b.err).toBe(a.err);
      expect(b.code).toBe(a.code);
    }
  });

  it('a stale fixture (spec hash differs) says so and replays anyway', async () => {
    const f = variant(good, 'stale.json', (x) => (x.specHash = '0000000000000000'));
    const r = await run(['replay', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}: stale fixture: the sources it ran against (spec/, model/, command semantics) changed since it was saved (specHash differs); replaying anyway\n`);
    expect(r.out).toContain(`${f}: violation reproduces: Conservation`);
  });

  it('a changed trace (digest differs) says so; the verdict is judged on the invariant', async () => {
    const f = variant(good, 'digest.json', (x) => (x.traceDigest = '0'.repeat(64)));
    const r = await run(['replay', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}: the trace changed since the fixture was saved (traceDigest differs); the verdict is judged on the invariant\n`);
  });

  it('a fixture whose violation is gone: exit 0, saying so', async () => {
    // the same commands against the correct policy
    const f = variant(good, 'fixed.json', (x) => (x.policy = 'bpf-ma'));
    const r = await run(['replay', f]);
    expect(r.code).toBe(0);
    // bpf-ma is no zoo variant: a counterexample found in it and now gone is a fixed bug
    expect(r.out).toMatch(/: no longer reproduces: no invariant is violated \(the fixture expects Conservation\); the bug is fixed: record it with .+ --expect --update\n$/);
  });

  it('a holds fixture: exit 0 while it holds, 1 when it breaks', async () => {
    const ok = variant(good, 'holds.json', (x) => {
      x.policy = 'bpf-ma';
      x.expect = { verdict: 'holds', invariant: null, message: null };
    });
    const a = await run(['replay', ok]);
    expect(a.code).toBe(0);
    expect(a.out).toContain(`${ok}: holds, as the fixture expects\n`);
    expect((await replayFixture(ok)).matches).toBe(true);
    const bad = variant(good, 'holds-broken.json', (x) => (x.expect = { verdict: 'holds', invariant: null, message: null }));
    const b = await run(['replay', bad]);
    expect(b.code).toBe(1);
    expect(b.out).toContain(`${bad}: violates Conservation, but the fixture expects it to hold\n`);
    expect((await replayFixture(bad)).matches).toBe(false);
  });

  it('--format json is the explanation as data; --out writes it, verdict on stdout', async () => {
    const out = join(dir, 'x.json');
    const r = await run(['replay', '--format', 'json', '--out', out, good]);
    expect(r.code).toBe(1);
    expect(r.out).toBe(`wrote ${out}\n${good}: violation reproduces: Conservation\n`);
    const x = JSON.parse(readFileSync(out, 'utf8'));
    expect(x.format).toBe('allocspec-explanation');
    expect(x.events.at(-1)).toMatchObject({ kind: 'violation', invariant: 'Conservation' });
  });

  it('bad usage: exit 2, one line', async () => {
    for (const argv of [
      ['replay'],
      ['replay', '--format', 'pdf', good],
      ['replay', '--policy', 'bpf-ma', good],
      ['replay', '--seed', '1'],
      ['replay', '--path', '1:2', good],
      ['replay', '--policy', 'bpf-ma', '--seed', 'x'],
      ['replay', '--policy', 'bpf-ma', '--seed', '1', '--config', 'nope'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n').filter(Boolean), argv.join(' ')).toHaveLength(1);
    }
  });
});

describe('replay --policy --seed', () => {
  it('regenerates the counterexample check found, trace for trace', async () => {
    const f = JSON.parse(readFileSync(good, 'utf8'));
    const a = await run(['replay', '--policy', 'bug/unit-free-ignores-active', '--seed', '1']);
    expect(a.code).toBe(1);
    expect(a.out.startsWith(savedTrace)).toBe(true);
    expect(a.out).toContain(`bug/unit-free-ignores-active [fixed]: Conservation violated (seed 1, path ${f.path}, ${f.commands.length} commands)\n`);
    const b = await run(['replay', '--policy', 'bug/unit-free-ignores-active', '--seed', '1', '--path', f.path]);
    expect(b.code).toBe(1);
    expect(b.out.startsWith(savedTrace)).toBe(true);
  });

  it('a correct policy: no counterexample, exit 0', async () => {
    const r = await run(['replay', '--policy', 'bpf-ma', '--seed', '1', '--runs', '20']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('bpf-ma [fixed]: no counterexample with seed 1 in 20 runs\n');
  });
});

describe('a check killed right after the violation is found', () => {
  it('leaves a complete fixture that replays', async () => {
    const out = tmp();
    const child = spawn(process.execPath, [join(ROOT, 'bin/allocspec.mjs'), 'check', '--policy', 'bug/unit-free-ignores-active', '--quiet', '--fixtures', out], {
      stdio: 'ignore',
    });
    const policyDir = join(out, 'bug', 'unit-free-ignores-active');
    const done = (): string | undefined =>
      existsSync(policyDir) ? readdirSync(policyDir).find((n) => n.endsWith('.json')) : undefined;
    // poll with a generous bound; no assertion on time
    let name: string | undefined;
    for (let i = 0; i < 6000 && !(name = done()); i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r).unref?.() ?? r(undefined));
    expect(name, 'the check saved no fixture').toBeDefined();
    // no temporary file is mistaken for a fixture, and the fixture is whole
    const file = join(policyDir, name!);
    const f = JSON.parse(readFileSync(file, 'utf8'));
    expect(f.expect).toMatchObject({ verdict: 'violates', invariant: 'Conservation' });
    const r = await run(['replay', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${file}: violation reproduces: Conservation\n`);
  });
});
