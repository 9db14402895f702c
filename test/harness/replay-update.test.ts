// replay --update: after an intended spec change, a fixture that still ends
// as it states gets its specHash and traceDigest refreshed; one that does
// not is left alone.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { captureIo } from '../helpers/io.ts';
import { makeFixture, tmp } from './fixture-helpers.ts';

// a zoo variant's fixture, found now (not the checkout's counterexamples/)
const source = makeFixture(tmp()).file;

function staleCopy(edit: (f: Record<string, any>) => void): string {
  const file = join(tmp(), 'f.json');
  copyFileSync(source, file);
  const f = JSON.parse(readFileSync(file, 'utf8'));
  f.specHash = '0000000000000000';
  f.traceDigest = '0'.repeat(64);
  edit(f);
  writeFileSync(file, JSON.stringify(f, null, 2) + '\n');
  return file;
}

describe('allocspec replay --update', () => {
  it('refreshes a stale fixture that still reproduces, keeping its commands', async () => {
    const file = staleCopy(() => {});
    const before = JSON.parse(readFileSync(file, 'utf8'));
    const io = captureIo();
    expect(await main(['replay', '--update', file], io)).toBe(1);
    expect(io.stderr()).toMatch(/stale fixture/);
    expect(io.stderr()).toMatch(/updated \(specHash and traceDigest\)/);
    const after = JSON.parse(readFileSync(file, 'utf8'));
    expect(after.commands).toEqual(before.commands);
    expect(after.specHash).not.toBe(before.specHash);
    const again = captureIo();
    expect(await main(['replay', file], again)).toBe(1);
    expect(again.stderr()).toBe('');
  });

  it('leaves a fixture alone when it no longer ends as it states', async () => {
    const file = staleCopy((f) => (f.expect.invariant = 'TeardownBarriers'));
    const io = captureIo();
    await main(['replay', '--update', file], io);
    expect(io.stderr()).toMatch(/not updated: it does not end as the gate expects \(does not reproduce as saved: Conservation is violated instead of TeardownBarriers\)/);
    expect(JSON.parse(readFileSync(file, 'utf8')).specHash).toBe('0000000000000000');
  });
});
