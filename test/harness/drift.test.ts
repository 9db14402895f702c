// Hit-rate drift of known findings (harness/drift.ts): a rate beyond 3x
// above or below the committed baseline is flagged in the table, the JSON
// and JUnit, and with the baseline's own seed and budget fails the check.
// Shown on a deliberately shifted baseline.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { compareRates, readRates, type RatesFile } from '../../harness/drift.ts';
import { captureIo } from '../helpers/io.ts';
import { tmpDirs } from '../cli/tmp.ts';
import { parseXml } from '../cli/xml.ts';

const tmp = tmpDirs();

const base = (hits: number, runs = 1000): RatesFile => ({
  format: 'allocspec-known-rates',
  version: 1,
  refresh: 'npm run check -- --write-rates',
  seed: 1,
  runs,
  factor: 3,
  policies: { p: { fixed: { runs, hits: { f: hits } } } },
});
const job = (hits: number, runs = 1000) => [{ policy: 'p', config: 'fixed', runs, findingHits: (hits ? { f: hits } : {}) as Record<string, number> }];

describe('hit-rate drift', () => {
  it('flags a rate more than 3x above or below the baseline; a few hits against none are noise', () => {
    const row = (b: number, h: number) => compareRates(job(h), base(b), { seed: 1, runs: 1000 }, 'known-rates.json').rows[0]!;
    expect(row(100, 100).drift).toBeNull();
    expect(row(100, 250).drift).toBeNull();
    expect(row(100, 400).drift).toBe('up');
    expect(row(100, 20).drift).toBe('down');
    expect(row(0, 1).drift).toBeNull(); // (1 + 1) / (0 + 1) = 2
    expect(row(1, 5156).drift).toBe('up'); // percpu-chunk's PcpuChunkInSlot with a call dropped on the free path
    expect(row(10, 0).drift).toBe('down'); // a finding that stopped showing
    // a finding the baseline does not know is listed, not judged
    expect(compareRates(job(7), null, { seed: 1, runs: 1000 }, null).rows[0]).toMatchObject({ baseline: null, ratio: null, drift: null });
    // exact only with the baseline's seed and budget
    expect(compareRates(job(7), base(7), { seed: 1, runs: 1000 }, 'b').exact).toBe(true);
    expect(compareRates(job(7), base(7), { seed: 2, runs: 1000 }, 'b').exact).toBe(false);
  });

  it('a deliberately shifted baseline: DRIFT in the table, the JSON and JUnit, exit 1; the true baseline is green', async () => {
    const dir = tmp();
    const rates = join(dir, 'rates.json');
    const args = ['check', '--policy', 'bpf-ma', '--config', 'fixed', '--runs', '300', '--quiet', '--fixtures', join(dir, 'fx'), '--rates', rates];
    // the true rates of this run (same seed, same result)
    const w = captureIo();
    expect(await main([...args, '--write-rates'], w)).toBe(0);
    const truth = readRates(rates)!;
    const hits = truth.policies['bpf-ma']!.fixed!.hits['refill-claimed-then-preempted']!;
    expect(hits).toBeGreaterThan(0);
    const again = captureIo();
    expect(await main(args, again)).toBe(0);
    expect(again.stdout()).toMatch(new RegExp(`^ {8}bpf-ma \\[fixed\\] refill-claimed-then-preempted: ${hits}/300 .*baseline ${hits}/300`, 'm'));
    // the baseline shifted: ten times the hits
    truth.policies['bpf-ma']!.fixed!.hits['refill-claimed-then-preempted'] = hits * 10;
    writeFileSync(rates, JSON.stringify(truth));
    const io = captureIo();
    const json = join(dir, 'r.json');
    const junit = join(dir, 'j.xml');
    expect(await main([...args, '--json', json, '--junit', junit], io)).toBe(1);
    expect(io.stdout()).toMatch(/^ {2}DRIFT bpf-ma \[fixed\] refill-claimed-then-preempted: .*below it by \d+(\.\d+)?x$/m);
    expect(io.stdout()).toContain('refresh the baseline: npm run check -- --write-rates');
    const row = (JSON.parse(readFileSync(json, 'utf8')) as { rates: { rows: { finding: string; drift: string | null }[] } }).rates.rows[0]!;
    expect(row).toMatchObject({ finding: 'refill-claimed-then-preempted', drift: 'down' });
    const x = parseXml(readFileSync(junit, 'utf8'));
    const cases = x.children.flatMap((s) => s.children).filter((c) => c.attrs.name?.startsWith('known finding refill-claimed-then-preempted: hit rate'));
    expect(cases).toHaveLength(1);
    expect(cases[0]!.children.map((c) => c.name)).toEqual(['failure']);
  });
});
