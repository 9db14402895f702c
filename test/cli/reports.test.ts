// CI reports: JUnit XML (one testsuite per policy, one testcase per
// invariant x configuration, the trace in the failure, known findings
// passing) and GitHub annotations when GITHUB_ACTIONS is set.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { captureIo } from '../helpers/io.ts';
import { REPO, tmpDirs } from './tmp.ts';
import { parseXml } from './xml.ts';

const tmp = tmpDirs('allocspec-reports-');
const saved = process.env.GITHUB_ACTIONS;
afterEach(() => {
  if (saved === undefined) delete process.env.GITHUB_ACTIONS;
  else process.env.GITHUB_ACTIONS = saved;
});

describe('--junit and GitHub annotations', () => {
  it('one testsuite per policy, one testcase per invariant and configuration, the trace in each failure', async () => {
    const dir = tmp();
    const io = captureIo();
    const code = await main(['check', '--policy', 'bug/unit-free-ignores-active', '--policy', 'bpf-ma', '--config', 'fixed,rt', '--runs', '300', '--fixtures', dir, '--junit', join(dir, 'j.xml'), '--quiet', '--hook-timeout', '0'], io);
    expect(code).toBe(1);
    const x = parseXml(readFileSync(join(dir, 'j.xml'), 'utf8'));
    expect(x.children.map((s) => s.attrs.name)).toEqual(['bug/unit-free-ignores-active', 'bpf-ma']);
    const [zoo, ok] = x.children as [(typeof x.children)[0], (typeof x.children)[0]];
    // every invariant under both configurations
    const names = (cfg: string): string[] => ok.children.map((c) => c.attrs.name!).filter((n) => n.endsWith(` [${cfg}]`)).map((n) => n.split(' ')[0]!);
    expect(names('fixed').length).toBeGreaterThan(5);
    expect(names('rt')).toEqual(names('fixed'));
    expect(ok.children).toHaveLength(2 * names('fixed').length);
    expect(names('fixed')).toContain('Conservation');
    expect(ok.attrs.failures).toBe('0');
    const failures = zoo.children.filter((c) => c.children.some((f) => f.name === 'failure'));
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(Number(zoo.attrs.failures)).toBe(failures.length);
    const f = failures[0]!.children[0]!;
    expect(f.attrs.message).toMatch(/\S/);
    expect(f.text).toMatch(/^fixture: .+\.json$/m);
    expect(f.text).toMatch(/^replay: npm run replay -- .+\.json$/m);
    expect(f.text).toMatch(/^lanes: /m);
    expect(x.attrs.failures).toBe(String(failures.length));
  });

  it('a known finding passes, with a note', async () => {
    const dir = tmp();
    const io = captureIo();
    expect(await main(['check', '--policy', 'reuse-after-rcu-gp', '--config', 'fixed', '--runs', '500', '--fixtures', dir, '--junit', join(dir, 'j.xml'), '--quiet', '--no-regress'], io)).toBe(0);
    const x = parseXml(readFileSync(join(dir, 'j.xml'), 'utf8'));
    expect(x.attrs.failures).toBe('0');
    const noted = x.children[0]!.children.filter((c) => c.children.some((e) => e.name === 'system-out'));
    const names = noted.map((c) => c.attrs.name);
    expect(names).toContain('Conservation [fixed]');
    // each known finding's hit rate is a case of its own (harness/drift.ts)
    for (const n of names.filter((m) => !m.startsWith('known finding '))) expect(['Conservation', 'NoLeakAtTeardown', 'NoDeadlock', 'NoAllocFailureWhileRefillStalled']).toContain(n.replace(' [fixed]', ''));
    expect(names.some((m) => /^known finding [\w-]+: hit rate \[fixed\]$/.test(m))).toBe(true);
  });

  it('GITHUB_ACTIONS=true adds one ::error annotation per violation, on its fixture', async () => {
    process.env.GITHUB_ACTIONS = 'true';
    const dir = tmp();
    const io = captureIo();
    expect(await main(['check', '--policy', 'bug/unit-free-ignores-active', '--config', 'fixed', '--fixtures', dir, '--quiet', '--hook-timeout', '0'], io)).toBe(1);
    const lines = io.stdout().split('\n').filter((l) => l.startsWith('::'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^::error file=[^,]+\.json,title=allocspec%3A bug\/unit-free-ignores-active violates \w+ \[fixed\]::.+ \(replay: npm run replay -- .+\.json\)$/);
    delete process.env.GITHUB_ACTIONS;
  });

  it("an annotation points at the user's policy file and the line of the function where the violation fired; a built-in's code: the fixture", async () => {
    const proj = tmp();
    writeFileSync(join(proj, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(proj, 'node_modules'));
    symlinkSync(REPO, join(proj, 'node_modules', 'allocspec'));
    const src = readFileSync(join(REPO, 'docs', 'examples', 'my-policy.ts'), 'utf8').replace('localIncReturn(x, c.active)) === 1)', 'localIncReturn(x, c.active)) >= 1)');
    writeFileSync(join(proj, 'my-policy.ts'), src);
    const line = src.split('\n').findIndex((l) => l.includes("kfunc('unit_alloc'")) + 1;
    expect(line).toBeGreaterThan(0);
    // the same bug in a file of the user's that only renames a zoo variant: the code is the built-in's
    writeFileSync(join(proj, 'renamed.ts'), `import { findPolicy } from 'allocspec/spec/policies/index.ts';\nexport default { ...findPolicy('bug/unit-free-ignores-active'), bug: undefined, name: 'renamed' };\n`);
    process.env.GITHUB_ACTIONS = 'true';
    try {
      const io = captureIo();
      // seed 2: the first violation found is the WARN_ON in the user's unit_alloc (seed 1 finds a
      // NeverOnTwoLists in memalloc.c's free_bulk first: a built-in's code)
      expect(await main(['check', '--policy', join(proj, 'my-policy.ts'), '--config', 'fixed', '--seed', '2', '--fixtures', join(proj, 'cx'), '--quiet', '--hook-timeout', '0'], io)).toBe(1);
      const lines = io.stdout().split('\n').filter((l) => l.startsWith('::'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^::error file=\\S+/my-policy\\.ts,line=${line},title=allocspec%3A my-eager-refill violates NoKernelWarn \\[fixed\\]::`));
      const io2 = captureIo();
      expect(await main(['check', '--policy', join(proj, 'renamed.ts'), '--config', 'fixed', '--fixtures', join(proj, 'cx'), '--quiet', '--hook-timeout', '0'], io2)).toBe(1);
      expect(io2.stdout().split('\n').filter((l) => l.startsWith('::'))).toEqual([expect.stringMatching(/^::error file=\S+\/cx\/renamed\/\w+-[0-9a-f]{8}\.json,title=/)]);
    } finally {
      delete process.env.GITHUB_ACTIONS;
    }
  }, 60_000);

  it('no annotations without GITHUB_ACTIONS', async () => {
    const quiet = captureIo();
    await main(['check', '--policy', 'bug/unit-free-ignores-active', '--config', 'fixed', '--fixtures', tmp(), '--quiet', '--hook-timeout', '0'], quiet);
    expect(quiet.stdout()).not.toMatch(/^::/m);
  });
});
