// CLI conventions: --version, -h/--help on every subcommand with flags and
// exit codes, --json - on stdout, unexpected arguments rejected, live
// progress when asked, a known finding in one line on a green run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { captureIo } from '../helpers/io.ts';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs();

describe('allocspec CLI conventions', () => {
  it('--version prints the package version', async () => {
    const io = captureIo();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.stdout()).toBe(`allocspec ${JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version}\n`);
  });

  it.each(['check', 'prove', 'replay', 'merge', 'bench'])('%s -h and --help list the flags and the exit codes', async (cmd) => {
    for (const flag of ['-h', '--help']) {
      const io = captureIo();
      expect(await main([cmd, flag], io)).toBe(0);
      expect(io.stdout()).toMatch(new RegExp(`^usage: allocspec ${cmd}`));
      expect(io.stdout()).toMatch(/--help/);
      expect(io.stdout()).toMatch(/exit: 0 [^\n]*\n[\s\S]*1 [\s\S]*2 /);
      expect(io.stderr()).toBe('');
    }
  });

  it('allocspec -h lists the commands; no command is bad usage', async () => {
    const io = captureIo();
    expect(await main(['-h'], io)).toBe(0);
    expect(io.stdout()).toMatch(/check[\s\S]*replay[\s\S]*merge[\s\S]*bench[\s\S]*--version/);
    const none = captureIo();
    expect(await main([], none)).toBe(2);
    expect(none.stderr()).toMatch(/^usage: allocspec/);
  });

  it.each([
    [['check', 'bpf-ma'], /^allocspec: check: unexpected argument 'bpf-ma'/],
    [['bench', '--bogus'], /^allocspec: bench: unknown option '--bogus' \(allocspec bench --help lists the options\)\n$/],
    [['check', '--hook-timeout', 'soon'], /^allocspec: --hook-timeout: expected seconds/],
    [['replay', 'no/such/file.json'], /^allocspec: no\/such\/file\.json: cannot read \(ENOENT\)/],
  ])('bad usage is one line and exit 2: %j', async (argv, msg) => {
    const io = captureIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.stderr()).toMatch(msg);
    expect(io.stderr().trimEnd().split('\n')).toHaveLength(1);
  });

  it('--json - writes the report alone on stdout, the table on stderr', async () => {
    const io = captureIo();
    expect(await main(['check', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '20', '--json', '-', '--quiet', '--hook-timeout', '0', '--fixtures', tmp()], io)).toBe(0);
    const r = JSON.parse(io.stdout());
    expect(r.policies[0].policy).toBe('bpf-ma');
    expect(io.stderr()).toMatch(/policy\s+I1/);
  });

  it('--progress prints runs done of the budget, the rate and an ETA on stderr', async () => {
    const io = captureIo();
    expect(await main(['check', '--policy', 'bpf-ma', '--config', 'fixed,rt', '--runs', '30', '--progress', '--workers', '1', '--fixtures', tmp()], io)).toBe(0);
    expect(io.stderr()).toMatch(/^progress: 0\/60 runs \(0%\), \d+ runs\/s, ETA (\?|\d+ s)$/m);
    expect(io.stderr()).toMatch(/^progress: 60\/60 runs \(100%\), \d+ runs\/s, ETA 0 s$/m);
    // not a terminal and not asked: no progress
    const quiet = captureIo();
    await main(['check', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '10', '--fixtures', tmp()], quiet);
    expect(quiet.stderr()).not.toMatch(/progress:/);
  });

  it('a green run names a known finding in one line with the command that prints its trace', async () => {
    const dir = tmp();
    const io = captureIo();
    const code = await main(['check', '--policy', 'reuse-after-rcu-gp', '--config', 'fixed', '--runs', '500', '--fixtures', dir, '--quiet', '--no-regress'], io);
    expect(code).toBe(0);
    expect(io.stdout()).toMatch(/^reuse-after-rcu-gp: known finding [\w-]+ \(Conservation\) in \d+ run\(s\) \(docs\/reuse-after-rcu-gp\.md\); trace: npm run replay -- \S+\.json$/m);
    expect(io.stdout()).not.toMatch(/^lanes:/m);
  });
});
