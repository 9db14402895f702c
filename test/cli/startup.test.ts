// How the bin starts (issue 10): from the bundle of the sources when it is
// fresh, with the same report as the sources give; through tsx when a
// policy file is loaded (one instance of the spec for the policy and the
// harness: test/cli/break-it.test.ts). ALLOCSPEC_TIMING names the phases.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceBundle } from '../../harness/bundle.ts';
import { main } from '../../harness/cli.ts';
import { captureIo } from '../helpers/io.ts';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs('allocspec-startup-');
const BIN = join(REPO, 'bin', 'allocspec.mjs');

function bin(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, ALLOCSPEC_TIMING: '1' };
  for (const k of Object.keys(env)) if (/^(npm_|INIT_CWD$|GITHUB_ACTIONS$)/i.test(k)) delete env[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A report without its timing and the paths that name where it ran (the
 *  rates baseline's file, shown relative to where each ran). */
const untimed = (text: string): unknown => JSON.parse(text, (k, v) => (['stepsPerSecond', 'elapsedSeconds', 'fixture', 'replay'].includes(k) || (k === 'baseline' && typeof v === 'string') ? undefined : v));

describe('the bin starts from the bundle', () => {
  it('when the bundle is fresh: no TypeScript loader, the first worker started before it loads, the report the sources give', async () => {
    await sourceBundle(); // fresh for the current sources
    const dir = tmp();
    const args = ['check', '--policy', 'bug/unit-free-ignores-active', '--policy', 'bpf-ma', '--config', 'fixed,rt', '--runs', '300', '--workers', '2', '--no-regress', '--quiet', '--json', '-', '--rates', join(REPO, 'known-rates.json')];
    const r = bin([...args, '--fixtures', join(dir, 'a')], dir);
    expect(r.code, r.err).toBe(1);
    const phases = r.err.split('\n').filter((l) => l.startsWith('allocspec timing:'));
    // both workers the pool will use start before this thread loads the bundle
    expect(phases.join('\n')).toMatch(/bundle fresh[\s\S]*2 early worker thread\(s\) started[\s\S]*bundle loaded/);
    expect(r.err).not.toMatch(/through tsx/);
    // the same report as the sources run in this process (vitest's loader)
    const io = captureIo();
    expect(await main([...args, '--fixtures', join(dir, 'b')], io)).toBe(1);
    expect(untimed(r.out)).toEqual(untimed(io.stdout()));
  }, 120_000);

  it('a check that is one chunk of runs starts one worker early, not a second that would compete with the load', async () => {
    await sourceBundle();
    const dir = tmp();
    const r = bin(['check', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '100', '--workers', '2', '--quiet', '--fixtures', join(dir, 'cx')], dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/1 early worker thread\(s\) started/);
    expect(r.err).toMatch(/ 1 worker thread\(s\) started/);
  }, 120_000);

  it('a policy file: the sources through tsx, in this thread and in the workers', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'mine.ts'), `import { bpfMa } from '${REPO}/spec/policies/bpf-ma.ts';\nexport default { ...bpfMa, name: 'mine' };\n`);
    const r = bin(['check', '--policy', './mine.ts', '--config', 'fixed', '--runs', '20', '--quiet', '--fixtures', join(dir, 'cx')], dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/sources loaded through tsx/);
    expect(r.err).toMatch(/worker thread\(s\) started \(through tsx\)/);
    expect(r.err).not.toMatch(/bundle fresh/);
  }, 120_000);
});
