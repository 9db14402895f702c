import { describe, expect, it } from 'vitest';
import { percpuChunkReport, renderPercpuChunkReport, type PcpuChunkRow } from '../../../spec/percpu_chunk/report.ts';

const rows = percpuChunkReport([4, 64]);
const row = (pattern: string, cpus: number): PcpuChunkRow => rows.find((r) => r.pattern === pattern && r.cpus === cpus)!;

describe('percpu-chunk report: pages populated per CPU against bytes live (seed 003)', () => {
  it('has a row per pattern and CPU count', () => {
    expect(rows).toHaveLength(2 * 5);
  });
  it('every possible CPU gets the same pages: the total scales with CPUs, the per-CPU figure does not', () => {
    for (const p of ['ints', 'every-other-freed', 'page-aligned', 'unit-sized', 'all-freed']) {
      expect(row(p, 64).pagesPerCpu).toBe(row(p, 4).pagesPerCpu);
      expect(row(p, 64).pagesTotal).toBe(row(p, 64).pagesPerCpu * 64);
    }
  });
  it('1000 ints fit the static chunk after the kernel image: one page more per CPU, a 1002-entry map', () => {
    expect(row('ints', 4)).toMatchObject({ bytesLive: 4000, pagesPerCpu: 1, chunks: 0, mapEntries: 1002 });
  });
  it('page-aligned 100-byte areas take a page each: 24 pages per CPU for 2400 bytes', () => {
    expect(row('page-aligned', 4)).toMatchObject({ bytesLive: 2400, pagesPerCpu: 24 });
  });
  it('freeing keeps pages: all areas freed, 8 pages per CPU still populated', () => {
    expect(row('all-freed', 4)).toMatchObject({ bytesLive: 0, pagesPerCpu: 8 });
    expect(row('every-other-freed', 4)).toMatchObject({ bytesLive: 16384, pagesPerCpu: 8 });
  });
  it('one fully free chunk is kept as a spare, a second one is killed', () => {
    expect(row('unit-sized', 4)).toMatchObject({ bytesLive: 65536, pagesPerCpu: 32, chunks: 2 });
  });
  it('renders a table', () => {
    const text = renderPercpuChunkReport(rows);
    expect(text).toMatch(/page-aligned\s+64\s+2\.34 KiB\s+96 KiB \(24 pages\)\s+1536/);
  });
});
