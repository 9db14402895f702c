import { describe, expect, it } from 'vitest';
import { percpuReport, renderPercpuReport, type PercpuRow } from '../../../spec/percpu/report.ts';
import { BpfMemAlloc } from '../../../spec/memalloc/cache.ts';
import { bpfMemAllocPercpuInit, bpfMemAllocPercpuUnitInit, percpuInitAllBuckets } from '../../../spec/percpu/init.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

const row = (rows: PercpuRow[], cpus: number, size: number): PercpuRow => rows.find((r) => r.cpus === cpus && r.size === size)!;
const MiB = 1024 * 1024;

describe('percpu report: seed 000 arithmetic', () => {
  const rows = percpuReport([4, 8, 128]);
  it('has a row per bucket size and CPU count', () => {
    expect(rows).toHaveLength(3 * 11);
  });
  it('4 CPUs, 16-byte units: 16 x 4 per CPU, 256 bytes in all', () => {
    expect(row(rows, 4, 16).onDemand).toBe(256);
  });
  it('8 CPUs, 16-byte units: 1024 bytes (doubling CPUs quadruples memory)', () => {
    expect(row(rows, 8, 16).onDemand).toBe(1024);
    expect(row(rows, 8, 16).onDemand / row(rows, 4, 16).onDemand).toBe(4);
  });
  it('128 CPUs: 4 KiB units take 64 MiB, 64-byte units 1 MiB', () => {
    expect(row(rows, 128, 4096).onDemand).toBe(64 * MiB);
    expect(row(rows, 128, 64).onDemand).toBe(1 * MiB);
  });
  it('128 CPUs, every bucket: ~138 MB, and prefill adds ~38 MB', () => {
    const r = row(rows, 128, 64);
    expect(r.allBuckets).toBe(8464 * 128 * 128);
    expect(Math.floor(r.allBuckets / 1e6)).toBe(138);
    expect(Math.floor((r.allBucketsPrefill - r.allBuckets) / 1e6)).toBe(38);
    expect(r.allBucketsPrefill - r.allBuckets).toBe(3 * (16 + 32 + 64 + 96 + 128 + 192 + 256) * 128 * 128);
  });
  it('renders the numbers and names the seed typo', () => {
    const text = renderPercpuReport(rows);
    expect(text).toContain('128 CPUs, all 11 buckets: 132.25 MiB (138.7 MB)');
    expect(text).toMatch(/64 B\s+1 MiB\s+4 MiB/);
    expect(text).toContain('196');
  });
});

describe('percpu report agrees with the spec', () => {
  for (const cpus of [4, 8]) {
    it(`${cpus} CPUs: measured bytes of on-demand and all-buckets setup`, () => {
      const rows = percpuReport([cpus]);
      const k1 = kernel({ cpus, maxObjects: 100_000 });
      const ma1 = new BpfMemAlloc();
      drive(bpfMemAllocPercpuInit(ctx(k1), ma1));
      drive(bpfMemAllocPercpuUnitInit(ctx(k1), ma1, 64));
      expect(k1.slab.percpuBytes).toBe(row(rows, cpus, 64).onDemandPrefill);
      const k2 = kernel({ cpus, maxObjects: 100_000 });
      drive(percpuInitAllBuckets(ctx(k2), new BpfMemAlloc()));
      expect(k2.slab.percpuBytes).toBe(row(rows, cpus, 64).allBucketsPrefill);
    });
  }
});
