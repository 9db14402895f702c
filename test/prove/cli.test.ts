// allocspec prove on the command line: the report and its JSON, exit codes
// (0 proved, 1 a violation or a truncated search, 2 bad input, one line),
// a violation saved as a fixture that replay reproduces, shards merged.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { captureIo } from '../helpers/io.ts';
import { REPO, tmpDirs } from '../cli/tmp.ts';

const tmp = tmpDirs();

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** A policy file: bpf-ma with the scenarios given (as source). */
function policyFile(dir: string, scenarios: string): string {
  const f = join(dir, 'mine.ts');
  writeFileSync(f, `import { bpfMa } from '${REPO}/spec/policies/bpf-ma.ts';\nexport default { ...bpfMa, name: 'mine', scenarios: ${scenarios} };\n`);
  return f;
}

describe('allocspec prove', () => {
  it('a correct policy: every scenario complete, exit 0; --json - gives results per policy and scenario', async () => {
    const r = await run(['prove', '--policy', 'bpf-ma', '--scenario', 'nmi-free-in-unit-free', '--scenario', 'cross-cpu-free', '--json', '-', '--quiet', '--fixtures', tmp()]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { results: { policy: string; scenarios: { name: string; complete: boolean; executions: number; preemptions: number; seconds: number }[] }[] };
    expect(j.results.map((p) => p.policy)).toEqual(['bpf-ma']);
    const s = j.results[0]!.scenarios;
    expect(s.map((x) => x.name)).toEqual(['nmi-free-in-unit-free', 'cross-cpu-free']);
    for (const x of s) {
      expect(x.complete).toBe(true);
      expect(x.executions).toBeGreaterThan(1);
      expect(x.preemptions).toBe(2);
      expect(typeof x.seconds).toBe('number');
    }
    // the table went to stderr with the JSON on stdout
    expect(r.err).toMatch(/bpf-ma\s+cross-cpu-free\s+complete/);
  });

  it('a zoo variant: the violation is saved first as a fixture with a step-level schedule, exit 1; replay --expect reproduces it', async () => {
    const dir = tmp();
    const r = await run(['prove', '--policy', 'bug/unit-free-ignores-active', '--scenario', 'nmi-free-in-unit-free', '--fixtures', dir, '--quiet']);
    expect(r.code).toBe(1);
    const saved = /saved: (\S+)/.exec(r.out)![1]!;
    const fx = JSON.parse(readFileSync(saved, 'utf8')) as { commands: { t: string; steps?: number }[]; expect: { invariant: string } };
    expect(fx.expect.invariant).toBe('FreeCntMatchesList');
    // an NMI placed at one step, then stepped like any context
    expect(fx.commands.some((c) => c.t === 'nmi' && c.steps === 1)).toBe(true);
    expect(r.out.indexOf('saved:')).toBeLessThan(r.out.indexOf('FreeCntMatchesList: c[cpu0]'));
    const rep = await run(['replay', saved, '--expect']);
    expect(rep.code, rep.out + rep.err).toBe(0);
    expect(rep.out).toMatch(/violation reproduces: FreeCntMatchesList/);
  });

  it('what the bound counts: an NMI arriving mid-operation is free (found at --preemptions 0); --interrupts bounds the kernel arrivals apart', async () => {
    const z = await run(['prove', '--policy', 'bug/unit-free-ignores-active', '--scenario', 'nmi-free-in-unit-free', '--preemptions', '0', '--fixtures', tmp(), '--quiet']);
    expect(z.code).toBe(1);
    expect(z.out).toMatch(/FreeCntMatchesList violated in scenario nmi-free-in-unit-free/);
    const execs = async (more: string[]): Promise<{ executions: number; interrupts: number | null }> => {
      const r = await run(['prove', '--policy', 'bpf-ma', '--scenario', 'sleepable-reader-vs-free-bulk', '--json', '-', '--quiet', '--fixtures', tmp(), ...more]);
      expect(r.code).toBe(0);
      return JSON.parse(r.out).results[0].scenarios[0];
    };
    const shared = await execs(['--preemptions', '1']);
    const none = await execs(['--preemptions', '1', '--interrupts', '0']);
    const more = await execs(['--preemptions', '1', '--interrupts', '2']);
    expect(shared.interrupts).toBeNull();
    expect(none.interrupts).toBe(0);
    // kernel arrivals bounded apart: none of them while a CPU could go on,
    // then up to two on top of the preemption
    expect(none.executions).toBeLessThan(shared.executions);
    expect(more.executions).toBeGreaterThan(shared.executions);
  });

  it('a search cut short by --max-executions is not proved: truncated, exit 1', async () => {
    const r = await run(['prove', '--policy', 'bpf-ma', '--scenario', 'teardown-vs-callbacks', '--max-executions', '3', '--json', '-', '--quiet', '--fixtures', tmp()]);
    expect(r.code).toBe(1);
    const s = (JSON.parse(r.out) as { results: { scenarios: { complete: boolean; executions: number; verdict: string }[] }[] }).results[0]!.scenarios[0]!;
    expect(s).toMatchObject({ complete: false, executions: 3, verdict: 'truncated' });
    expect(r.err).toMatch(/not proved/);
  });

  it('bad input is one line, exit 2', async () => {
    const dir = tmp();
    const cases: [string[], RegExp][] = [
      [['prove', '--preemptions', 'x'], /^allocspec: --preemptions: expected a whole number/],
      [['prove', '--policy', 'bpf-ma', '--scenario', 'cross-cpu-fre'], /no scenario 'cross-cpu-fre'.*did you mean 'cross-cpu-free'/],
      [['prove', '--polcy', 'bpf-ma'], /unknown option '--polcy'.*did you mean --policy/],
      [['prove', '--policy', 'percpu-chunk'], /percpu-chunk has no scenarios/],
      [['prove', '--policy', policyFile(dir, `[{ name: 's', window: 'w', cpus: [[{ op: 'free', obj: 'a' }]] }]`)], /mine: scenarios\[0\] \(s\): 'a' is not named by any alloc/],
      [['prove', '--policy', policyFile(tmp(), `[{ name: 's', window: 'w', cpus: [[{ op: 'alloc' }]], nmi: [{ cpu: 5, op: 'alloc' }] }]`)], /field 'nmi\[0\]\.cpu': cpu5 is outside the configuration/],
      [['prove', '--policy', policyFile(tmp(), `[{ name: 's', window: 'w', cpus: [[{ op: 'alloc', size: 3 }]] }]`)], /field 'cpus\.0\.0'|field 'cpus\[0\]\[0\]'/],
      [['prove', '--policy', policyFile(tmp(), `[{ name: 's', window: 'w', cpus: [[{ op: 'alloc' }]], inject: ['page'] }]`)], /field 'inject\[0\]': page failures do not reach mine/],
      [['prove', '--policy', policyFile(tmp(), `[{ name: 's', window: 'w', cpus: [[{ op: 'alloc', req: 3 }]] }]`)], /field 'cpus\[0\]\[0\]\.req': request #3, but there are 1/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      const lines = r.err.trimEnd().split('\n');
      expect(lines, r.err).toHaveLength(1);
      expect(lines[0]).toMatch(re);
    }
  });

  it('--shard I/N --split D: the shards search disjoint subtrees; merge says complete only with every shard', async () => {
    const dir = tmp();
    const base = ['prove', '--policy', 'bpf-ma', '--scenario', 'nmi-alloc-in-refill', '--quiet', '--fixtures', dir, '--split', '2'];
    const a = await run([...base, '--shard', '1/2', '--json', join(dir, 'a.json')]);
    const b = await run([...base, '--shard', '2/2', '--json', join(dir, 'b.json')]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const whole = JSON.parse((await run(['prove', '--policy', 'bpf-ma', '--scenario', 'nmi-alloc-in-refill', '--quiet', '--json', '-', '--fixtures', dir])).out);
    const m = await run(['merge', join(dir, 'a.json'), join(dir, 'b.json')]);
    expect(m.code).toBe(0);
    const merged = JSON.parse(m.out);
    const s = merged.results[0].scenarios[0];
    expect(s.complete).toBe(true);
    expect(s.units).toBeGreaterThan(1);
    expect(s.unitsSearched).toBe(s.units);
    // the shards expand their first two levels fully: at least as many executions
    expect(s.executions).toBeGreaterThanOrEqual(whole.results[0].scenarios[0].executions);
    const pa = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
    expect(pa.results[0].scenarios[0].unitsSearched).toBeLessThan(s.units);
    const one = await run(['merge', join(dir, 'a.json')]);
    expect(one.code).toBe(2);
    expect(one.err).toMatch(/missing shard\(s\) 2\/2/);
  });
});
