// Each class of bad fixture is one line on stderr naming the file and the
// field, and exit code 2 (issue 4).
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFixture } from '../../harness/fixture.ts';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, run, tmp, variant } from './fixture-helpers.ts';

let dir: string;
let good: string;
beforeAll(() => {
  dir = tmp();
  good = makeFixture(dir).file;
});

/** Replay a bad fixture: exit 2, nothing on stdout, exactly `line` on stderr. */
async function rejects(file: string, line: string | RegExp): Promise<void> {
  const r = await run(['replay', file]);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
  if (typeof line === 'string') expect(r.err).toBe(line + '\n');
  else expect(r.err).toMatch(line);
}

describe('bad fixtures: one line naming file and field, exit 2', () => {
  it('malformed JSON', async () => {
    const f = join(dir, 'malformed.json');
    writeFileSync(f, '{"format": "allocspec-counterexample", "version": 1,');
    await rejects(f, new RegExp(`^allocspec: ${f}: malformed JSON \\(.+\\)\\n$`));
  });

  it('unknown format version', async () => {
    const f = variant(good, 'version.json', (x) => (x.version = 7));
    await rejects(f, `allocspec: ${f}: field 'version': unknown format version 7 (this allocspec reads version 1)`);
  });

  it('not a fixture at all (wrong format tag)', async () => {
    const f = variant(good, 'format.json', (x) => (x.format = 'something-else'));
    await rejects(f, `allocspec: ${f}: field 'format': expected 'allocspec-counterexample', got 'something-else'`);
  });

  it('unknown policy', async () => {
    const f = variant(good, 'policy.json', (x) => (x.policy = 'bug/no-such-policy'));
    await rejects(f, new RegExp(`^allocspec: ${f}: field 'policy': 'bug/no-such-policy' is not a built-in policy; not loading it\\n$`));
  });

  it('a command naming a CPU outside the configuration', async () => {
    let i = -1;
    const f = variant(good, 'cpu.json', (x) => {
      i = x.commands.findIndex((c: Record<string, unknown>) => 'cpu' in c);
      x.commands[i].cpu = 5;
    });
    await rejects(f, `allocspec: ${f}: field 'commands[${i}].cpu': cpu5 is outside the configuration (config.cpus is 2)`);
  });

  it('a command naming an object outside the configuration', async () => {
    const f = variant(good, 'object.json', (x) => x.commands.unshift({ t: 'prog', cpu: 0, op: 'free', arg: 99, count: 1, sleepable: false, steps: 0 }));
    await rejects(f, `allocspec: ${f}: field 'commands[0].arg': object #99 is outside the configuration (config.objects is 24)`);
  });

  it('a fault the policy does not inject under this configuration', async () => {
    const f = variant(good, 'fault.json', (x) => x.commands.unshift({ t: 'fault', kind: 'trylock' }));
    await rejects(f, `allocspec: ${f}: field 'commands[0].kind': fault 'trylock' is outside the configuration (bug/unit-free-ignores-active injects: kmalloc, cpu_offline)`);
  });

  it('an unknown command kind', async () => {
    const f = variant(good, 'kind.json', (x) => (x.commands[1] = { t: 'teleport', cpu: 0 }));
    await rejects(f, `allocspec: ${f}: field 'commands[1].t': unknown value 'teleport' (expected one of 'prog', 'nmi', 'burst', 'handoff', 'step', 'irq', 'softirq', 'kworker', 'gp', 'fault', 'destroy', 'quiesce')`);
  });

  it('missing fields: top level, nested, inside a command', async () => {
    const a = variant(good, 'missing-commands.json', (x) => delete x.commands);
    await rejects(a, `allocspec: ${a}: missing field 'commands'`);
    const b = variant(good, 'missing-invariant.json', (x) => delete x.expect.invariant);
    await rejects(b, `allocspec: ${b}: missing field 'expect.invariant'`);
    const c = variant(good, 'missing-steps.json', (x) => x.commands.unshift({ t: 'step', cpu: 0 }));
    await rejects(c, `allocspec: ${c}: missing field 'commands[0].steps'`);
    const d = variant(good, 'missing-verdict.json', (x) => delete x.expect.verdict);
    await rejects(d, `allocspec: ${d}: missing field 'expect.verdict'`);
  });

  it('wrong types and unknown fields are named too', async () => {
    const a = variant(good, 'type.json', (x) => (x.seed = 'one'));
    await rejects(a, `allocspec: ${a}: field 'seed': Invalid input: expected number, received string (got 'one')`);
    const b = variant(good, 'extra.json', (x) => (x.config.colour = 'blue'));
    await rejects(b, `allocspec: ${b}: field 'config.colour': unknown field`);
    const c = variant(good, 'invariant.json', (x) => (x.expect.invariant = 'Tidiness'));
    await rejects(c, `allocspec: ${c}: field 'expect.invariant': unknown invariant (got 'Tidiness')`);
  });

  it('a file that cannot be read', async () => {
    const f = join(dir, 'absent.json');
    await rejects(f, `allocspec: ${f}: cannot read (ENOENT)`);
  });
});

describe('no churn', () => {
  it('a fixture whose commands are already saved is left untouched (another seed, path or message)', () => {
    const d = tmp();
    const { file, fixture } = makeFixture(d);
    const before = readFileSync(file, 'utf8');
    const again = writeFixture(d, { ...fixture, seed: fixture.seed + 41, path: '9:9', expect: { ...fixture.expect, message: 'other object names' } });
    expect(again).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(before);
    // other commands: a fixture of its own
    const other = writeFixture(d, { ...fixture, commands: fixture.commands.slice(0, -1) });
    expect(other).not.toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});
