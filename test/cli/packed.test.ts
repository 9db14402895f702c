// Must show (issue 13): the package as a user gets it. `npm pack`, install
// the tarball in a temporary project, write the tutorial's policy there,
// break it, and run `npx allocspec check` (exit 1, the fixture under that
// project's counterexamples/), `npx allocspec replay counterexamples
// --expect` (exit 0) and `--junit` (well-formed JUnit XML); then run every
// `run:` line of docs/ci.md's workflow there. One install serves every
// assertion (the registry is reached for the tarball's dependencies).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, tmpDirs } from './tmp.ts';
import { parseXml } from './xml.ts';

const tmp = tmpDirs('allocspec-packed-');

/** The environment of a user's shell: none of an outer npm run's variables. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|INIT_CWD$|GITHUB_ACTIONS$)/i.test(k)) env[k] = v;
  return env;
}

function sh(cmd: string, cwd: string): { code: number; out: string; err: string } {
  const r = spawnSync('bash', ['-c', cmd], { cwd, env: userEnv(), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

let proj = '';

describe('the packed package, installed in a project of its own', () => {
  beforeAll(() => {
    const root = tmp();
    const tgz = execFileSync('npm', ['pack', REPO, '--pack-destination', root, '--silent'], { env: userEnv(), encoding: 'utf8' }).trim().split('\n').at(-1)!;
    proj = join(root, 'proj');
    mkdirSync(proj);
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'my-allocator', private: true, type: 'module' }) + '\n');
    execFileSync('npm', ['install', join(root, tgz), '--no-audit', '--no-fund', '--loglevel=error'], { cwd: proj, env: userEnv(), stdio: 'pipe', timeout: 300_000 });
  }, 320_000);

  it('ships no tests or CI scripts, and a LICENSE', () => {
    const pkg = join(proj, 'node_modules', 'allocspec');
    expect(readdirSync(pkg).sort()).toEqual(['LICENSE', 'README.md', 'bench', 'bin', 'docs', 'harness', 'model', 'package.json', 'spec'].filter((f) => existsSync(join(pkg, f))));
    expect(existsSync(join(pkg, 'test'))).toBe(false);
    expect(existsSync(join(pkg, '.ci'))).toBe(false);
    expect(readFileSync(join(pkg, 'LICENSE'), 'utf8')).toMatch(/GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/);
  });

  it('runs the built-in policies as from the checkout, on the first and every later run (the bundle is built by the first)', () => {
    const builtin = join(tmp(), 'builtin');
    mkdirSync(builtin);
    writeFileSync(join(builtin, 'package.json'), readFileSync(join(proj, 'package.json')));
    symlinkSync(join(proj, 'node_modules'), join(builtin, 'node_modules'));
    const noStack = (r: { err: string }): void => expect(r.err).not.toMatch(/ENOENT|\n\s+at |Node\.js v/);
    // the default check, at a small budget: twice (the first builds the bundle, the second starts from it)
    for (const run of [1, 2]) {
      const r = sh('npx allocspec check --runs 5 --quiet', builtin);
      noStack(r);
      expect(r.code, `run ${run}: ${r.err}`).toBe(0);
      expect(r.out).toMatch(/^bpf-ma\s/m);
    }
    const cache = join(proj, 'node_modules', 'allocspec', 'node_modules', '.cache', 'allocspec');
    expect(readdirSync(cache).some((f) => /^bundle-.*\.mjs$/.test(f))).toBe(true);
    const bpfMa = sh('npx allocspec check --policy bpf-ma --config fixed --runs 50 --quiet', builtin);
    noStack(bpfMa);
    expect(bpfMa.code, bpfMa.err).toBe(0);
    // a zoo variant: exit 1, its fixture in the user's project, replay reproduces; the second run too
    for (const run of [1, 2]) {
      const r = sh('npx allocspec check --policy bug/unit-free-ignores-active --config fixed --runs 250 --quiet', builtin);
      noStack(r);
      expect(r.code, `run ${run}: ${r.err}`).toBe(1);
      const saved = r.out.match(/^ {2}saved: (counterexamples\/bug\/unit-free-ignores-active\/\S+\.json)$/m)![1]!;
      expect(existsSync(join(builtin, saved))).toBe(true);
      if (run === 2) {
        // the second check replays the first's fixture: a must-fail example, not a regression
        // (the variant's own counterexample, and bpf-ma's known finding when the first run hit it)
        expect(r.out).toMatch(/^bug\/unit-free-ignores-active: replayed (1 saved counterexample\(s\) first \(\S+\/\): 1 still violate \(1 must-fail\)|2 saved counterexample\(s\) first \(\S+\/\): 2 still violate \(1 known finding, 1 must-fail\))$/m);
        continue;
      }
      const replay = sh(r.out.match(/^ {2}replay: (.+)$/m)![1]!, builtin);
      noStack(replay);
      expect(replay.code).toBe(1);
      expect(replay.out).toMatch(/violation reproduces: Conservation/);
    }
    const report = sh('npx allocspec check --report percpu', builtin);
    noStack(report);
    expect(report.code).toBe(0);
    expect(report.out).toMatch(/^4 CPUs, all 11 buckets/m);
    const version = sh('npx allocspec --version', builtin);
    expect(version.code).toBe(0);
    expect(version.out).toMatch(/^allocspec \d+\.\d+\.\d+\n$/);
  }, 240_000);

  it("breaks the tutorial's policy: check exits 1 with the fixture in the project, the gate is red, --junit is JUnit XML", () => {
    const src = readFileSync(join(REPO, 'docs', 'examples', 'my-policy.ts'), 'utf8');
    const broken = src.replace('localIncReturn(x, c.active)) === 1)', 'localIncReturn(x, c.active)) >= 1)');
    expect(broken).not.toBe(src);
    writeFileSync(join(proj, 'my-policy.ts'), broken);

    expect(sh('npx allocspec --version', proj).out).toMatch(/^allocspec \d+\.\d+\.\d+\n$/);
    const check = sh('npx allocspec check --policy ./my-policy.ts --config fixed --junit junit.xml', proj);
    expect(check.code, check.err).toBe(1);
    expect(check.out).toMatch(/^✗ (NoKernelWarn|Conservation|NeverOnTwoLists): /m);
    const saved = check.out.match(/^ {2}saved: (counterexamples\/my-eager-refill\/\S+\.json)$/m)![1]!;
    expect(existsSync(join(proj, saved))).toBe(true);
    expect(JSON.parse(readFileSync(join(proj, saved), 'utf8')).policyFile).toBe('../../my-policy.ts');
    const replayCmd = check.out.match(/^ {2}replay: (.+)$/m)![1]!;
    expect(replayCmd).toBe(`npx allocspec replay ${saved}`);
    // the printed command works where it was printed, and reproduces
    const replay = sh(replayCmd, proj);
    expect(replay.code).toBe(1);
    expect(replay.out).toMatch(/violation reproduces: (NoKernelWarn|Conservation|NeverOnTwoLists)/);

    // the gate is red while the bug is there: one line, with the replay command
    const gate = sh('npx allocspec replay counterexamples --expect', proj);
    expect(gate.code, gate.out + gate.err).toBe(1);
    expect(gate.out).toContain(`: still violates `);
    expect(gate.out).toContain(`; replay: ${replayCmd}\n`);
    // red for the one counterexample (a known finding of bpf-ma the run also hit is saved, and green)
    expect(gate.out).toMatch(/^replay --expect: 1 of [12] fixture\(s\) do not end as the gate expects$/m);

    const junit = parseXml(readFileSync(join(proj, 'junit.xml'), 'utf8'));
    expect(junit.name).toBe('testsuites');
    expect(junit.children.map((s) => s.name)).toEqual(['testsuite']);
    const suite = junit.children[0]!;
    expect(suite.attrs.name).toBe('my-eager-refill');
    expect(Number(suite.attrs.tests)).toBe(suite.children.length);
    expect(suite.children.every((c) => c.name === 'testcase' && / \[fixed\]$/.test(c.attrs.name!))).toBe(true);
    const failed = suite.children.filter((c) => c.children.some((f) => f.name === 'failure'));
    expect(failed).toHaveLength(1);
    expect(suite.attrs.failures).toBe('1');
    const failure = failed[0]!.children[0]!;
    expect(failure.text).toContain(`replay: ${replayCmd}`);
    expect(failure.text).toMatch(/^lanes: /m);

    // a second check replays the saved counterexample first and says so
    const again = sh('npx allocspec check --policy ./my-policy.ts --config fixed --quiet', proj);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/^my-eager-refill: replayed ([12]) saved counterexample\(s\) first \(counterexamples\/my-eager-refill\/\): \1 still violate/m);

    // a fixture replays from another checkout of the user's repository
    const elsewhere = join(tmp(), 'checkout');
    cpSync(proj, elsewhere, { recursive: true, verbatimSymlinks: true });
    const moved = sh('npx allocspec replay counterexamples --expect', elsewhere);
    expect(moved.code, moved.out + moved.err).toBe(1);
    expect(moved.out).toMatch(/^FAIL counterexamples\/my-eager-refill\/\S+\.json: still violates/m);
  }, 120_000);

  it("docs/ci.md's workflow steps pass, run locally", () => {
    const doc = readFileSync(join(REPO, 'docs', 'ci.md'), 'utf8');
    const yaml = doc.slice(doc.indexOf('```yaml'), doc.indexOf('```', doc.indexOf('```yaml') + 3));
    const runs = [...yaml.matchAll(/^\s*- run: (.+)$/gm)].map((m) => m[1]!).filter((r) => r !== 'npm ci');
    expect(runs).toHaveLength(3);
    const ci = join(tmp(), 'ci');
    mkdirSync(ci);
    writeFileSync(join(ci, 'package.json'), readFileSync(join(proj, 'package.json')));
    symlinkSync(join(proj, 'node_modules'), join(ci, 'node_modules'));
    cpSync(join(REPO, 'docs', 'examples', 'my-policy.ts'), join(ci, 'my-policy.ts'));
    const [check, merge, gate] = runs as [string, string, string];
    for (const shard of ['1', '2']) {
      const r = sh(check.replaceAll('${{ matrix.shard }}', shard), ci);
      expect(r.code, r.out + r.err).toBe(0);
      parseXml(readFileSync(join(ci, `junit-${shard}.xml`), 'utf8'));
    }
    const m = sh(merge, ci);
    expect(m.code, m.out + m.err).toBe(0);
    const report = JSON.parse(readFileSync(join(ci, 'report.json'), 'utf8'));
    expect(report.policies.map((p: { policy: string }) => p.policy)).toEqual(['my-eager-refill']);
    expect(report.policies[0].configs).toEqual(['fixed', 'rt']);
    expect(sh(gate, ci).code).toBe(0);
    // the gate judges fixtures when there are some: red with the broken
    // policy, green with the fixed one (ci/ has the tutorial's good policy)
    cpSync(join(proj, 'counterexamples'), join(ci, 'counterexamples'), { recursive: true });
    const judged = sh(gate, ci);
    expect(judged.code, judged.out + judged.err).toBe(0);
    expect(judged.out).toMatch(/^ok {3}\S+: fixed: /m);
    cpSync(join(proj, 'my-policy.ts'), join(ci, 'my-policy.ts'));
    expect(sh(gate, ci).code).toBe(1);
  }, 120_000);

  it('type-checks a policy file against the installed package first: one line file:line:col, exit 2', () => {
    const src = readFileSync(join(REPO, 'docs', 'examples', 'my-policy.ts'), 'utf8');
    const old = src.replace('yield* localIrqRestore(x, flags);', 'yield* localIrqRestore(x);');
    expect(old).not.toBe(src);
    writeFileSync(join(proj, 'old-api.ts'), old);
    const r = sh('npx allocspec check --policy ./old-api.ts --config fixed --runs 5 --quiet', proj);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/^old-api\.ts:\d+:\d+: Expected 2 arguments, but got 1\.\n$/);
    writeFileSync(join(proj, 'fits.ts'), src);
    const ok = sh('npx allocspec check --policy ./fits.ts --config fixed --runs 5 --quiet', proj);
    expect(ok.code, ok.err).toBe(0);
  }, 120_000);
});
