// Faults: each is one line on stderr and its documented exit code, and a
// counterexample found is never lost.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { fixturePath, policyDir, type Fixture } from '../../harness/fixture.ts';
import { captureIo } from '../helpers/io.ts';
import { makeFixture } from '../harness/fixture-helpers.ts';
import { CONFIGS } from '../../harness/config.ts';
import { checkJobs } from '../../harness/check.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs();
// a zoo variant's fixture, found now in a temporary directory (the
// checkout's counterexamples/ may hold more after README examples ran)
const ZOO_FIXTURE = makeFixture(tmp()).file;

/** One line on stderr, starting with allocspec: */
function oneLine(err: string): string {
  const lines = err.trimEnd().split('\n').filter((l) => !/^\S+ \[\w+\]: \d+ runs/.test(l)); // job progress lines
  expect(lines, err).toHaveLength(1);
  expect(lines[0]).toMatch(/^allocspec: /);
  return lines[0]!;
}

/** A policy file in `dir`: bpf-ma with its alloc hook replaced. */
function policyFile(dir: string, name: string, alloc: string): string {
  const f = join(dir, `${name}.ts`);
  writeFileSync(f, `import { bpfMa } from '${REPO}/spec/policies/bpf-ma.ts';\nexport default { ...bpfMa, name: '${name}', alloc: ${alloc} };\n`);
  return f;
}

describe('faults', () => {
  it('a --fixtures that becomes unwritable during the check: the counterexample is printed first, then one line', async () => {
    // (the command line refuses a --fixtures that is a file up front; this
    // is the check itself, as when the directory goes away mid-run)
    const dir = tmp();
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    const io = captureIo();
    const run = checkJobs(
      { policies: [{ policy: findPolicy('bug/unit-free-ignores-active')! }], configs: [{ ...CONFIGS.fixed! }], seed: 1, runs: 2000, promise: [], fixturesDir: notADir, quiet: true },
      io,
      { workers: 1, shard: null, strategy: 'uniform', hookTimeout: 0, regress: false },
    );
    await expect(run).rejects.toThrow(/^--fixtures \S+: cannot write the counterexample \(ENOTDIR\); it is printed above$/);
    // the trace and the fixture itself, on stdout
    expect(io.stdout()).toMatch(/seed 1, path [\d:]+\); NOT SAVED/);
    expect(io.stdout()).toMatch(/^lanes: /m);
    const json = io.stdout().slice(io.stdout().indexOf('{\n  "format"'));
    expect(JSON.parse(json).format).toBe('allocspec-counterexample');
  });

  it.each(['--json', '--junit'])('an unwritable %s fails before the exploration: one line, exit 2', async (flag) => {
    const dir = tmp();
    const io = captureIo();
    const code = await main(['check', '--policy', 'bug/unit-free-ignores-active', '--config', 'fixed', '--fixtures', dir, flag, join(dir, 'no', 'such', 'dir', 'r.xml'), '--no-regress'], io);
    expect(code).toBe(2);
    expect(oneLine(io.stderr())).toMatch(new RegExp(`^allocspec: ${flag} \\S+: cannot write \\(ENOENT: no directory \\S+\\)$`));
    expect(io.stdout()).toBe('');
  });

  it('a hook that never yields is stopped by the watchdog and named: exit 2', async () => {
    const dir = tmp();
    const file = policyFile(dir, 'spin', 'function* (x, s, size) { if (x.k.steps > 20) for (;;) {} return yield* bpfMa.alloc(x, s, size); }');
    const io = captureIo();
    expect(await main(['check', '--policy', file, '--config', 'fixed', '--hook-timeout', '0.5', '--quiet'], io)).toBe(2);
    expect(oneLine(io.stderr())).toMatch(/^allocspec: policy spin: hook alloc never yielded: no step for 0\.5 s in config fixed \(--hook-timeout 0\.5: a loop without a yield\?\)$/);
  });

  it('replay stops a hook that never yields too: exit 2', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'package.json'), '{}\n');
    policyFile(dir, 'spin', 'function* () { for (;;) {} }');
    const f: Fixture = JSON.parse(readFileSync(ZOO_FIXTURE, 'utf8'));
    const fx = { ...f, policy: 'spin', policyFile: '../../spin.ts' };
    mkdirSync(join(dir, 'counterexamples', 'spin'), { recursive: true });
    writeFileSync(join(dir, 'counterexamples', 'spin', 'x.json'), JSON.stringify(fx));
    const io = captureIo();
    expect(await main(['replay', join(dir, 'counterexamples'), '--hook-timeout', '0.5'], io)).toBe(2);
    expect(oneLine(io.stderr())).toMatch(/^allocspec: policy spin: hook alloc never yielded: no step for 0\.5 s/);
  });

  it("check's replay of saved fixtures is watched too: a policy edited into a busy loop is named, exit 2", async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'package.json'), '{}\n');
    const file = policyFile(dir, 'spin', 'function* () { for (;;) {} }');
    const f: Fixture = JSON.parse(readFileSync(ZOO_FIXTURE, 'utf8'));
    mkdirSync(join(dir, 'counterexamples', 'spin'), { recursive: true });
    writeFileSync(join(dir, 'counterexamples', 'spin', 'x.json'), JSON.stringify({ ...f, policy: 'spin', policyFile: '../../spin.ts' }));
    const io = captureIo();
    expect(await main(['check', '--policy', file, '--config', 'fixed', '--fixtures', join(dir, 'counterexamples'), '--hook-timeout', '0.5', '--quiet'], io)).toBe(2);
    // named by the replay of the saved fixture, before any exploration
    expect(oneLine(io.stderr())).toMatch(/^allocspec: policy spin: hook alloc never yielded: no step for 0\.5 s \(--hook-timeout/);
  });

  it('an error thrown in a callback the policy queued is a policy error, not a crash: exit 2', async () => {
    const dir = tmp();
    const file = join(dir, 'cb.ts');
    writeFileSync(
      file,
      `import { bpfMa } from '${REPO}/spec/policies/bpf-ma.ts';\n` +
        `const seen = new Set();\nconst visit = (v) => { if (!v || typeof v !== 'object' || seen.has(v)) return; seen.add(v); if (v.refill_work) v.refill_work.fn = function* () { throw new TypeError('boom in refill'); }; for (const x of Object.values(v)) visit(x); };\n` +
        `export default { ...bpfMa, name: 'cb', init(k, o) { const ma = bpfMa.init(k, o); seen.clear(); visit(ma); return ma; } };\n`,
    );
    for (const extra of [['--hook-timeout', '0', '--workers', '1'], ['--workers', '2']]) {
      const io = captureIo();
      expect(await main(['check', '--policy', file, '--config', 'fixed', '--quiet', ...extra], io)).toBe(2);
      expect(oneLine(io.stderr())).toMatch(/^allocspec: policy cb: hook bpf_mem_refill threw at step \d+ \(irq_work\d+ on cpu0 in bpf_mem_refill\): boom in refill$/);
    }
  });

  it('a violation thrown in a callback the policy queued is a violation, with a trace: exit 1', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const file = join(dir, 'warn.ts');
    writeFileSync(
      file,
      `import { bpfMa } from '${REPO}/spec/policies/bpf-ma.ts';\nimport { WARN_ON } from '${REPO}/spec/kernel/bug.ts';\n` +
        `const seen = new Set();\nconst visit = (v) => { if (!v || typeof v !== 'object' || seen.has(v)) return; seen.add(v); if (v.refill_work) v.refill_work.fn = function* (x) { yield 'refill'; WARN_ON(x, true, 'WARN_ON(in refill)'); }; for (const x of Object.values(v)) visit(x); };\n` +
        `export default { ...bpfMa, name: 'warn', init(k, o) { const ma = bpfMa.init(k, o); seen.clear(); visit(ma); return ma; } };\n`,
    );
    for (const extra of [['--hook-timeout', '0', '--workers', '1'], []]) {
      const io = captureIo();
      expect(await main(['check', '--policy', file, '--config', 'fixed', '--quiet', '--fixtures', tmp(), ...extra], io)).toBe(1);
      expect(io.stdout()).toMatch(/^✗ NoKernelWarn: WARN_ON\(in refill\)/m);
      expect(io.stderr()).toBe('');
    }
  });

  it("a fixture's commands are capped by its configuration's maxCommands: exit 2", async () => {
    const dir = tmp();
    const f: Fixture = JSON.parse(readFileSync(ZOO_FIXTURE, 'utf8'));
    const big = { ...f, commands: Array.from({ length: f.config.maxCommands + 1 }, () => f.commands[0]!) };
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify(big));
    const io = captureIo();
    expect(await main(['replay', file], io)).toBe(2);
    expect(oneLine(io.stderr())).toMatch(/field 'commands': 51 commands, more than a run of its configuration has \(config\.maxCommands is 50\)$/);
    // and a file far larger than any fixture is not read at all
    writeFileSync(file, ' '.repeat(5 << 20));
    const io2 = captureIo();
    expect(await main(['replay', file], io2)).toBe(2);
    expect(oneLine(io2.stderr())).toMatch(/larger than a fixture can be/);
  });

  it('a policy name cannot leave the fixtures directory', async () => {
    expect(policyDir('../../x')).toBe('_/_/x');
    expect(policyDir('bug/x')).toBe('bug/x');
    expect(policyDir('/abs/./y')).toBe('_/abs/_/y');
    const dir = tmp();
    const fixtures = join(dir, 'fx');
    const file = join(dir, 'escape.ts');
    writeFileSync(file, `import { findPolicy } from '${REPO}/spec/policies/index.ts';\nexport default { ...findPolicy('bug/unit-free-ignores-active'), name: '../../escape' };\n`);
    const io = captureIo();
    expect(await main(['check', '--policy', file, '--config', 'fixed', '--fixtures', fixtures, '--quiet'], io)).toBe(1);
    const saved = io.stdout().match(/saved: (\S+)/)![1]!;
    expect(relative(fixtures, saved)).toMatch(/^_\/_\/escape\/Conservation-[0-9a-f]{8}\.json$/);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
    const f = JSON.parse(readFileSync(saved, 'utf8')) as Fixture;
    expect(fixturePath(fixtures, f)).toBe(saved);
  });

  it('a fixture cannot name a policy file outside the project to load: exit 2', async () => {
    const outside = tmp();
    const project = tmp();
    writeFileSync(join(project, 'package.json'), '{}\n');
    const evil = policyFile(outside, 'evil', 'bpfMa.alloc');
    const f: Fixture = JSON.parse(readFileSync(ZOO_FIXTURE, 'utf8'));
    mkdirSync(join(project, 'counterexamples'));
    const file = join(project, 'counterexamples', 'evil.json');
    writeFileSync(file, JSON.stringify({ ...f, policy: 'evil', policyFile: relative(join(project, 'counterexamples'), evil) }));
    const io = captureIo();
    expect(await main(['replay', file], io)).toBe(2);
    expect(oneLine(io.stderr())).toMatch(/field 'policyFile': '\.\.\/\.\.\/[^']+\/evil\.ts' is outside the project \(.+\); not loading it$/);
  });

  it.each(['relative', 'absolute'])("a fixture is data: a 'policy' that is a %s path is never imported, one line, exit 2", async (kind) => {
    const project = tmp();
    writeFileSync(join(project, 'package.json'), '{}\n');
    // importing this module would leave a file behind
    const marker = join(project, 'IMPORTED');
    const evil = join(project, 'evil.ts');
    writeFileSync(evil, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nimport { bpfMa } from '${REPO}/spec/policies/bpf-ma.ts';\nexport default { ...bpfMa, name: 'evil' };\n`);
    const f: Fixture = JSON.parse(readFileSync(ZOO_FIXTURE, 'utf8'));
    mkdirSync(join(project, 'counterexamples', 'evil'), { recursive: true });
    const file = join(project, 'counterexamples', 'evil', 'x.json');
    writeFileSync(file, JSON.stringify({ ...f, policy: kind === 'relative' ? '../../evil.ts' : evil }));
    for (const args of [['replay', file], ['replay', join(project, 'counterexamples'), '--expect'], ['replay', file, '--hook-timeout', '0']]) {
      const io = captureIo();
      expect(await main(args, io)).toBe(2);
      expect(oneLine(io.stderr())).toMatch(/field 'policy': '[^']*evil\.ts' looks like a path; a fixture loads a policy file only through 'policyFile'; not loading it$/);
      expect(io.stdout()).toBe('');
      expect(existsSync(marker)).toBe(false);
    }
  });

  it("a fixture's unknown built-in policy is one line with a suggestion, exit 2", async () => {
    const dir = tmp();
    const f: Fixture = JSON.parse(readFileSync(ZOO_FIXTURE, 'utf8'));
    const file = join(dir, 'x.json');
    writeFileSync(file, JSON.stringify({ ...f, policy: 'bug/unit-free-ignore-active' }));
    const io = captureIo();
    expect(await main(['replay', file], io)).toBe(2);
    expect(oneLine(io.stderr())).toMatch(/field 'policy': 'bug\/unit-free-ignore-active' is not a built-in policy \(did you mean 'bug\/unit-free-ignores-active'\?\); not loading it$/);
  });

  // issue 18, item 4: every fault is one line naming what is wrong, exit 2, at once
  it.each([
    [['check', '--runs', '-1'], /^allocspec: --runs: expected a whole number 1 or more, got '-1'$/],
    [['check', '--runs', 'many'], /^allocspec: --runs: expected a whole number 1 or more, got 'many'$/],
    [['check', '--seed', '-5'], /^allocspec: --seed: expected a whole number from 0 to 2147483647, got '-5'$/],
    [['check', '--hook-timeout', '-3'], /^allocspec: --hook-timeout: expected seconds from 0 to 3600, got '-3'$/],
    [['check', '--workers', '0'], /^allocspec: --workers: expected a whole number from 1 to 256, got '0'$/],
    [['check', '--polcy', 'bpf-ma'], /^allocspec: check: unknown option '--polcy' \(did you mean --policy\? allocspec check --help lists the options\)$/],
    [['check', '--policy'], /^allocspec: check: --policy needs a value$/],
    [['check', '--quiet=yes'], /^allocspec: check: --quiet takes no value$/],
    [['check', '--policy', 'bpf-mma'], /^allocspec: unknown policy 'bpf-mma' \(did you mean 'bpf-ma'\? a policy file is a path such as \.\/my-policy\.ts\)$/],
    [['check', '--policy', 'bug/unit-free'], /^allocspec: unknown policy 'bug\/unit-free' \(did you mean 'bug\/unit-free-ignores-active'\?/],
    [['check', '--config', 'fixd'], /^allocspec: --config: unknown configuration 'fixd' \(did you mean 'fixed'\? known: fixed, percpu, buckets, rt, wide, percpu-buckets\)$/],
    [['chek'], /^allocspec: unknown command 'chek' \(did you mean 'check'\? commands: check, prove, replay, merge, bench, workload; allocspec --help\)$/],
    [['replay', '--expect', '--updte', 'counterexamples'], /^allocspec: replay: unknown option '--updte' \(did you mean --update\?/],
    [['replay', '--policy', 'bpf-ma', '--seed', '-1'], /^allocspec: replay: --seed: expected a whole number from 0 to 2147483647, got '-1'$/],
    [['check', '--fixtures', '/proc'], /^allocspec: --fixtures \/proc: on a pseudo filesystem \(\/proc\), not a place for files$/],
    [['check', '--fixtures', '/proc/none/x'], /^allocspec: --fixtures \/proc\/none\/x: on a pseudo filesystem \(\/proc\)/],
    [['check', '--fixtures', '/sys/kernel'], /^allocspec: --fixtures \/sys\/kernel: on a pseudo filesystem \(\/sys\)/],
    [['check', '--json', '/proc/r.json'], /^allocspec: --json \/proc\/r\.json: on a pseudo filesystem \(\/proc\)/],
    [['check', '--junit', '/sys/r.xml'], /^allocspec: --junit \/sys\/r\.xml: on a pseudo filesystem \(\/sys\)/],
    [['replay', '/proc', '--expect'], /^allocspec: replay \/proc: on a pseudo filesystem \(\/proc\), not a place for fixtures$/],
    [['replay', '/proc/self/x.json'], /^allocspec: replay \/proc\/self\/x\.json: on a pseudo filesystem/],
  ] as const)('%j: one line, exit 2', async (args, line) => {
    const io = captureIo();
    expect(await main([...args], io)).toBe(2);
    expect(oneLine(io.stderr())).toMatch(line);
    expect(io.stdout()).toBe('');
  });

  it('--workers beyond the cores: one warning line, then the check runs on the cores', async () => {
    const io = captureIo();
    const cores = availableParallelism();
    expect(await main(['check', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '5', '--workers', String(cores + 62), '--quiet', '--fixtures', tmp(), '--hook-timeout', '0'], io)).toBe(0);
    expect(io.stderr()).toBe(`allocspec: --workers ${cores + 62}: this machine has ${cores} core${cores > 1 ? 's' : ''}; using ${cores}\n`);
  });

  it('a livelock trace folds its repeated steps', async () => {
    const dir = tmp();
    const file = policyFile(dir, 'loop', "function* (x, s, size) { if (x.k.steps > 20) for (;;) { yield 'spin a'; yield 'spin b'; } return yield* bpfMa.alloc(x, s, size); }");
    const io = captureIo();
    expect(await main(['check', '--policy', file, '--config', 'fixed', '--fixtures', tmp(), '--quiet'], io)).toBe(1);
    const out = io.stdout();
    expect(out).toMatch(/✗ NoDeadlock: .* made 20000 steps without finishing \(livelock\)/);
    expect(out).toMatch(/… the same 2 steps \d{4} more times \(steps \d+–\d+\)/);
    expect(out.split('\n').length).toBeLessThan(200);
  });
});
