// Ctrl-C during a check: the runs done per job, the seed, the replay
// command of what was found and the command that runs it again, then exit
// 130; nothing partial on disk (fixtures are written whole, by rename).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs('allocspec-int-');

function files(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
}

describe('Ctrl-C', () => {
  it('prints runs done per job, the seed, the found fixture and how to run again; exit 130', async () => {
    const fixtures = tmp();
    const child = spawn(
      process.execPath,
      [join(REPO, 'bin', 'allocspec.mjs'), 'check', '--policy', 'bug/unit-free-ignores-active', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '1000000', '--seed', '7', '--progress', '--fixtures', fixtures, '--workers', '2'],
      { cwd: fixtures, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.resume();
    // wait (with a generous bound, no timing assertion) until the zoo
    // variant's job is over and bpf-ma has runs done: the progress line
    // counts a finished job's whole budget, so past 1000000 is bpf-ma's
    const bpfMaRan = (): boolean => [...err.matchAll(/progress: (\d+)\//g)].some((m) => Number(m[1]) > 1_000_000);
    for (let i = 0; i < 1200 && !(/bug\/unit-free-ignores-active \[fixed\]: \d+ runs/.test(err) && bpfMaRan()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code, err).toBe(130);
    const tail = err.slice(err.indexOf('allocspec: interrupted'));
    expect(tail).toMatch(/^allocspec: interrupted \(Ctrl-C\) after \d+ of 2000000 runs; seed 7\n/);
    expect(tail).toMatch(/^ {2}bug\/unit-free-ignores-active \[fixed\]: \d+\/1000000 runs \(done\)$/m);
    expect(tail).toMatch(/^ {2}bpf-ma \[fixed\]: [1-9]\d*\/1000000 runs$/m);
    expect(tail).toMatch(/^ {2}found: bug\/unit-free-ignores-active\/Conservation-[0-9a-f]{8}\.json; replay: npx allocspec replay bug\/unit-free-ignores-active\/Conservation-[0-9a-f]{8}\.json$/m);
    expect(tail).toMatch(/^ {2}run it again \(same seed, same runs\): npx allocspec check --policy bug\/unit-free-ignores-active --policy bpf-ma .* --seed 7 /m);
    // the fixture is whole; no temporary file is left
    const left = files(fixtures);
    expect(left.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(left.filter((f) => /tmp/.test(f))).toEqual([]);
  }, 120_000);
});
