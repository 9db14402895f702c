// Issue 9, must show 1: docs/policy-api.md §4-§5's "break it" step from a
// temporary directory outside the repository, through the command line:
// exit 1, the trace, the fixture in that directory, and a replay that
// reproduces it; with the package linked as `npm install /path/to/allocspec`
// does, by the bin directly and through `npm --prefix`. (The packed-tarball
// run with npx is test/cli/packed.test.ts.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs('allocspec-break-');

function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|INIT_CWD$|GITHUB_ACTIONS$)/i.test(k)) env[k] = v;
  return env;
}

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A user's directory: package.json, allocspec linked, the broken example. */
function project(): string {
  const dir = tmp();
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules', 'allocspec'));
  const src = readFileSync(join(REPO, 'docs', 'examples', 'my-policy.ts'), 'utf8');
  writeFileSync(join(dir, 'my-policy.ts'), src.replace('localIncReturn(x, c.active)) === 1)', 'localIncReturn(x, c.active)) >= 1)'));
  return dir;
}

const BIN = join(REPO, 'bin', 'allocspec.mjs');

/** Every file under dir with its modification time. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((f) => `${f} ${statSync(join(dir, f)).mtimeMs}`);
}

describe("the tutorial's break-it step, outside the repository", () => {
  it('through the bin: exit 1, the trace, the fixture here, a replay that reproduces it', () => {
    const dir = project();
    const before = listing(join(REPO, 'counterexamples'));
    const r = run(process.execPath, [BIN, 'check', '--policy', './my-policy.ts', '--config', 'fixed', '--quiet'], dir);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^my-eager-refill: (NoKernelWarn|Conservation|NeverOnTwoLists) violated \(config fixed, seed 1, path [\d:]+\)$/m);
    expect(r.out).toMatch(/^✗ (NoKernelWarn|Conservation|NeverOnTwoLists): /m);
    expect(r.out).not.toMatch(/policy broken|hook alloc threw/);
    const saved = r.out.match(/^ {2}saved: (\S+)$/m)![1]!;
    expect(saved).toMatch(/^counterexamples\/my-eager-refill\/(NoKernelWarn|Conservation|NeverOnTwoLists)-[0-9a-f]{8}\.json$/);
    expect(existsSync(join(dir, saved))).toBe(true);
    // nothing written into the package's own checkout
    expect(listing(join(REPO, 'counterexamples'))).toEqual(before);
    const replay = run(process.execPath, [BIN, 'replay', saved], dir);
    expect(replay.code).toBe(1);
    expect(replay.out).toMatch(new RegExp(`^${saved}: violation reproduces: (NoKernelWarn|Conservation|NeverOnTwoLists)$`, 'm'));
  });

  it('one module instance of the spec for the harness and the policy, however the policy imports it', () => {
    const dir = project();
    const rel = join('node_modules', 'allocspec'); // relative to dir, through the link
    const via: Record<string, string> = {
      pkg: 'allocspec/spec',
      abs: join(REPO, 'spec'),
      rel: `./${rel}/spec`,
    };
    for (const [name, base] of Object.entries(via)) {
      // the Kernel the harness boots is an instance of the class the policy imported
      writeFileSync(
        join(dir, `${name}.ts`),
        `import { Kernel } from '${base}/kernel/kernel.ts';
import { bpfMa } from '${base}/policies/bpf-ma.ts';
` +
          `export default { ...bpfMa, name: '${name}', init(k, o) { if (!(k instanceof Kernel)) throw new Error('two instances of spec/kernel/kernel.ts'); return bpfMa.init(k, o); } };
`,
      );
      const r = run(process.execPath, [BIN, 'check', '--policy', `./${name}.ts`, '--config', 'fixed', '--runs', '20', '--quiet'], dir);
      expect(r.err, name).toBe('');
      expect(r.code, name).toBe(0);
    }
  });

  it('through npm --prefix: paths are the caller\'s, and the printed replay command works there', () => {
    const dir = project();
    const r = run('npm', ['--prefix', REPO, 'run', 'check', '--', '--policy', './my-policy.ts', '--config', 'fixed', '--quiet', '--json', 'report.json'], dir);
    expect(r.code, r.err).toBe(1);
    const saved = r.out.match(/^ {2}saved: (\S+)$/m)![1]!;
    expect(saved).toMatch(/^counterexamples\/my-eager-refill\//);
    expect(existsSync(join(dir, saved))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).policies[0].counterexample.fixture).toBe(saved);
    const printed = r.out.match(/^ {2}replay: (.+)$/m)![1]!;
    expect(printed).toBe(`npm --prefix ${REPO} run replay -- ${saved}`);
    const replay = run('bash', ['-c', printed], dir);
    expect(replay.code).toBe(1);
    expect(replay.out).toMatch(/violation reproduces/);
  });
});
