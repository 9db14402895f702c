// allocspec workload (issue 23): a discrete-event run of the htab-mem use
// cases over each policy's own spec functions. Small settings throughout
// (2 CPUs, a tenth of a modelled second, a large scale): these tests check
// the machinery and the scaling rule, not the table's numbers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { Clock } from '../../harness/workload/clock.ts';
import { FLAVOURS } from '../../harness/workload/cli.ts';
import { CONSTANTS } from '../../harness/workload/constants.ts';
import { htmlPage, svgChart, thin, ticks } from '../../harness/workload/chart.ts';
import { COUNT_BOUND, listKind, slabBytes } from '../../harness/workload/memory.ts';
import { runWorkload, type RunOptions, type RunResult } from '../../harness/workload/run.ts';
import { maxEntries, producers, USE_CASES, type UseCaseName } from '../../harness/workload/usecases.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { bpfMa, withOps } from '../../spec/policies/bpf-ma.ts';
import { definePolicy, type Policy } from '../../spec/policies/policy.ts';
import { captureIo } from '../helpers/io.ts';
import { tmpDirs } from '../cli/tmp.ts';

const tmp = tmpDirs();
const small = { cpus: 2, seconds: 0.1, scale: 128 };
const run = (policy: string, useCase: UseCaseName, o: Partial<RunOptions> = {}): RunResult => runWorkload({ policy: findPolicy(policy)!, useCase, ...small, ...o });

describe('workload clock', () => {
  it('orders events by time, then by the order they were scheduled', () => {
    const c = new Clock<string>();
    c.at(5, 'b');
    c.at(1, 'a');
    c.at(5, 'c');
    c.at(3, 'x');
    const got: string[] = [];
    for (let e = c.next(); e; e = c.next()) got.push(`${e.t}${e.what}`);
    expect(got).toEqual(['1a', '3x', '5b', '5c']);
  });
});

describe('htab-mem use cases', () => {
  it("give each CPU its own keys, and pair adders with deleters on the same keys", () => {
    expect(maxEntries(8)).toBe(8192);
    expect(maxEntries(256)).toBe(64 * 256);
    const ow = producers('overwrite', 4, 64);
    expect(ow[1]!.program.slice(0, 3)).toEqual([{ kind: 'update', key: 1 }, { kind: 'update', key: 5 }, { kind: 'update', key: 9 }]);
    const keys = ow.flatMap((p) => p.program.map((o) => o.key));
    expect(new Set(keys).size).toBe(4 * 64);
    const ad = producers('add_del_on_diff_cpu', 4, 64);
    expect(ad[2]!.program.every((o) => o.kind === 'add')).toBe(true);
    expect(ad[3]!.program.every((o) => o.kind === 'delete')).toBe(true);
    expect(ad[2]!.program.map((o) => o.key)).toEqual(ad[3]!.program.map((o) => o.key));
    expect([ad[2]!.partner, ad[3]!.partner, ad[2]!.first, ad[3]!.first]).toEqual([3, 2, true, false]);
  });
});

describe('memory accounting', () => {
  it('rounds objects to whole slab pages of their kmalloc cache', () => {
    expect(slabBytes(0, 96, 4096)).toBe(0);
    expect(slabBytes(1, 96, 4096)).toBe(4096);
    expect(slabBytes(42, 96, 4096)).toBe(4096); // 42 objects of 96 bytes a page
    expect(slabBytes(43, 96, 4096)).toBe(8192);
    expect(slabBytes(64, 64, 4096)).toBe(4096);
  });

  it('names list kinds by field, and counts only the watermark-bounded ones once', () => {
    expect(listKind('c[cpu1].free_llist')).toBe('free_llist');
    expect(listKind('rcu_data[cpu0].cblist')).toBe('cblist');
    expect(listKind('batch7(c[cpu0])')).toBe('bpf_reuse_batch');
    expect(listKind('s->cpu_array[cpu1]')).toBe('s->cpu_array');
    for (const k of ['free_llist', 'free_llist_extra', 'prepare_reuse_head', 'reuse_ready_head']) expect(COUNT_BOUND.has(k), k).toBe(true);
    for (const k of ['free_by_rcu', 'waiting_for_gp', 'wait_for_free', 'cblist', 'bpf_reuse_batch']) expect(COUNT_BOUND.has(k), k).toBe(false);
  });

  it('no_op holds only the prefill: 4 objects per CPU in one page of kmalloc-96, nothing for kmalloc', () => {
    const ma = run('bpf-ma', 'no_op');
    expect(ma.peakMiB * 1024 * 1024).toBe(4096);
    expect(ma.atPeak).toEqual({ map: 0, free_llist: 8 });
    expect(run('kmalloc-call-rcu', 'no_op').peakMiB).toBe(0);
  });

  it('overwrite: bpf-ma reuses at once (nothing waits), kmalloc-call-rcu waits a grace period per element', () => {
    const ma = run('bpf-ma', 'overwrite');
    expect(Object.keys(ma.atPeak).sort()).toEqual(['free_llist', 'map']);
    expect(ma.atPeak.map).toBeGreaterThan(0);
    expect(ma.atPeak.map).toBeLessThanOrEqual(2 * 64);
    const km = run('kmalloc-call-rcu', 'overwrite');
    expect(km.atPeak.cblist).toBeGreaterThan(1000);
    expect(km.avgMiB).toBeGreaterThan(10 * ma.avgMiB);
  });

  it('add_del_on_diff_cpu: bpf-ma frees on the deleting CPU into the chain of grace periods', () => {
    const r = run('bpf-ma', 'add_del_on_diff_cpu');
    expect((r.atPeak.waiting_for_gp ?? 0) + (r.atPeak.free_by_rcu ?? 0)).toBeGreaterThan(1000);
    expect(r.allocFailures).toBe(0);
  });
});

describe('the run', () => {
  it("runs the policy's own functions: a variant whose free_bulk() does nothing keeps every cross-CPU free on free_llist", () => {
    const keep = definePolicy({ ...bpfMa, name: 'test/free-bulk-keeps', init: withOps({ *free_bulk() {} }) });
    const base = run('bpf-ma', 'add_del_on_diff_cpu');
    const r = runWorkload({ policy: keep as Policy<unknown>, useCase: 'add_del_on_diff_cpu', ...small });
    expect(r.atPeak.waiting_for_gp ?? 0).toBe(0);
    expect(r.atPeak.free_by_rcu ?? 0).toBe(0);
    expect(r.atPeak.free_llist!).toBeGreaterThan(4 * base.atPeak.free_llist!);
  });

  it('gives the same numbers for the same settings', () => {
    const a = run('reuse-after-rcu-gp', 'overwrite', { seconds: 0.05 });
    const b = run('reuse-after-rcu-gp', 'overwrite', { seconds: 0.05 });
    expect(b).toEqual(a);
  });

  it('answers to its constants: longer grace periods hold more', () => {
    const base = run('kmalloc-call-rcu', 'overwrite');
    const longer = run('kmalloc-call-rcu', 'overwrite', { constants: { rcuGpNs: 2 * CONSTANTS.rcuGpNs.value } });
    expect(longer.avgMiB).toBeGreaterThan(1.5 * base.avgMiB);
  });

  // "halving the scale changes the ranking of flavours nowhere": twice the
  // dilation is half the operations per grace period. Flavours within 25%
  // of each other count as tied; a strict order must not reverse.
  it('keeps the ranking of the five flavours when the run carries half the operations', () => {
    const order = (rs: RunResult[]): Map<string, number> => new Map(rs.map((r) => [r.policy, r.avgMiB]));
    for (const u of USE_CASES) {
      const a = order(FLAVOURS.map((p) => run(p, u, { scale: 32 })));
      const b = order(FLAVOURS.map((p) => run(p, u, { scale: 64 })));
      for (const p of FLAVOURS) {
        for (const q of FLAVOURS) {
          const clear = (m: Map<string, number>): boolean => m.get(p)! < 0.8 * m.get(q)! && m.get(q)! - m.get(p)! > 0.05;
          const reversed = (m: Map<string, number>): boolean => m.get(q)! < m.get(p)!;
          if (clear(a)) expect(reversed(b), `${u}: ${p} < ${q} at scale 32 (${a.get(p)} vs ${a.get(q)}) but not at 64 (${b.get(p)} vs ${b.get(q)})`).toBe(false);
          if (clear(b)) expect(reversed(a), `${u}: ${p} < ${q} at scale 64 but not at 32`).toBe(false);
        }
      }
    }
  });
});

describe('allocspec workload (CLI)', () => {
  it('exits 2 with one line for an unknown use case, policy or bad numbers', async () => {
    for (const args of [
      ['--use-case', 'nope'],
      ['--policy', 'nope'],
      ['--cpus', 'x'],
      ['--cpus', '0'],
      ['--seconds', '-1'],
      ['--scale', '1.5'],
      ['--set', 'rcuGpNs=fast'],
      ['--set', 'nosuch=1'],
      ['--use-case', 'add_del_on_diff_cpu', '--cpus', '3'],
      ['--frobnicate'],
    ]) {
      const io = captureIo();
      expect(await main(['workload', ...args], io), args.join(' ')).toBe(2);
      expect(io.stderr().trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(io.stderr()).toMatch(/^allocspec: /);
    }
  });

  it('a design whose syscalls wait for a grace period cannot run (each context ends at one instant): one line, exit 2', async () => {
    const io = captureIo();
    expect(await main(['workload', '--policy', 'slub-sheaves', '--use-case', 'overwrite', '--cpus', '2', '--seconds', '0.01', '--scale', '128', '--jobs', '1'], io)).toBe(2);
    expect(io.stderr()).toMatch(/^allocspec: policy slub-sheaves: .*cannot finish \(rcu_barrier\)\n$/);
  });

  it('writes { useCase, results: [{ policy, avgMiB, peakMiB, ... }] } and the HTML chart', async () => {
    const dir = tmp();
    const io = captureIo();
    const json = join(dir, 'w.json');
    const html = join(dir, 'w.html');
    const code = await main(['workload', '--use-case', 'overwrite', '--policy', 'bpf-ma', '--policy', 'kmalloc-call-rcu', '--cpus', '2', '--seconds', '0.02', '--scale', '128', '--jobs', '1', '--json', json, '--html', html], io);
    expect(code, io.stderr()).toBe(0);
    expect(io.stdout()).toMatch(/overwrite: 2 CPUs, 0.02 s modelled, scale 128/);
    const r = JSON.parse(readFileSync(json, 'utf8'));
    expect(r.useCase).toBe('overwrite');
    expect(r.results.map((x: RunResult) => x.policy)).toEqual(['bpf-ma', 'kmalloc-call-rcu']);
    for (const x of r.results) {
      expect(typeof x.avgMiB).toBe('number');
      expect(x.peakMiB).toBeGreaterThanOrEqual(x.avgMiB);
      expect(x.series.tMs.length).toBe(x.series.mib.length);
    }
    const page = readFileSync(html, 'utf8');
    expect(page.match(/<polyline class="series"/g)).toHaveLength(2);
    expect(page).toContain('data-policy="kmalloc-call-rcu"');
  });
});

describe('the chart', () => {
  it('has axis steps of 1, 2 or 5 that reach past the largest value', () => {
    expect(ticks(46.6)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(ticks(0.078)).toEqual([0, 0.02, 0.04, 0.06, 0.08]);
    expect(ticks(0)).toEqual([0]);
  });

  it('thins a long line to its bucket maxima, keeping the peak', () => {
    const t = Array.from({ length: 10 }, (_, i) => i);
    const v = [1, 5, 2, 2, 9, 1, 0, 3, 3, 4];
    expect(thin(t, v, 3)).toEqual({ t: [1, 4, 9], v: [5, 9, 4] });
    expect(thin(t, v, 20).v).toEqual(v);
  });

  it('draws one line per flavour, inside the plot', () => {
    const rs = [run('bpf-ma', 'overwrite', { seconds: 0.02 }), run('kmalloc-call-rcu', 'overwrite', { seconds: 0.02 })];
    const svg = svgChart({ useCase: 'overwrite', settings: { ...small, set: {} }, results: rs });
    const ys = [...svg.matchAll(/points="([^"]*)"/g)].flatMap((m) => m[1]!.split(' ').map((p) => Number(p.split(',')[1])));
    expect(ys.length).toBeGreaterThan(0);
    for (const y of ys) expect(y).toBeGreaterThanOrEqual(40 - 0.5);
    expect(htmlPage([{ useCase: 'overwrite', settings: { ...small, set: {} }, results: rs }])).toMatch(/^<!doctype html>/);
  });
});

describe('docs/workload.md', () => {
  it('lists every modelled constant with its source', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/workload.md'), 'utf8');
    for (const [name, c] of Object.entries(CONSTANTS)) {
      expect(doc, name).toContain(`| \`${name}\` |`);
      expect(doc, `${name}'s source`).toContain(c.source.slice(0, 40));
    }
  });
});
