// `--report percpu`: percpu bytes of a size-0 percpu allocator that sets up
// every bucket at once (bpf_mem_alloc_init(ma, 0, true) after commit
// 41a5db8d8161) against one set up on demand for the one size a program
// uses (seed 000). Each cache holds units of unit_size bytes on each of
// `cpus` CPUs, and there is a cache per CPU: unit_size x cpus^2 per object.
// Data first (percpuReport), text second (renderPercpuReport).
import { NUM_CACHES, SIZES, bpfMemCacheIdx } from '../memalloc/cache.ts';
import { prefillCount } from '../memalloc/init.ts';

/** The buckets in ascending order: 16 .. 4096. */
export const BUCKETS: readonly number[] = [...SIZES].sort((a, b) => a - b);

/** Seed 000 sums the 192-byte bucket as 196 in its prose; sizes[] says 192. */
export const SEED_TEXT_192_AS = 196;

export interface PercpuRow {
  /** object size a program asks bpf_percpu_obj_new() for (a bucket size) */
  size: number;
  cpus: number;
  /** every bucket, one unit per CPU cache: seed 000's "at least" figure */
  allBuckets: number;
  /** every bucket as prefill_mem_cache() fills it (4 units up to 256 bytes) */
  allBucketsPrefill: number;
  /** this size's bucket only, one unit per CPU cache */
  onDemand: number;
  /** this size's bucket only, as prefilled */
  onDemandPrefill: number;
}

/** Percpu bytes of one cache per CPU, each holding n units of unit bytes. */
export function unitBytes(unit: number, cpus: number, n = 1): number {
  return n * unit * cpus * cpus;
}

export function percpuReport(cpus: number[]): PercpuRow[] {
  const rows: PercpuRow[] = [];
  for (const n of cpus) {
    let allBuckets = 0;
    let allBucketsPrefill = 0;
    for (const s of BUCKETS) {
      allBuckets += unitBytes(s, n);
      allBucketsPrefill += unitBytes(s, n, prefillCount(s));
    }
    for (const size of BUCKETS) {
      const unit = SIZES[bpfMemCacheIdx(size)]!;
      rows.push({
        size,
        cpus: n,
        allBuckets,
        allBucketsPrefill,
        onDemand: unitBytes(unit, n),
        onDemandPrefill: unitBytes(unit, n, prefillCount(unit)),
      });
    }
  }
  return rows;
}

const MiB = 1024 * 1024;

/** Bytes as seed 000 writes them: B, KiB or MiB, plus decimal MB when large. */
export function bytesText(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < MiB) return `${+(b / 1024).toFixed(2)} KiB`;
  const mib = `${+(b / MiB).toFixed(2)} MiB`;
  return b >= 10 * MiB ? `${mib} (${(b / 1e6).toFixed(1)} MB)` : mib;
}

export function renderPercpuReport(rows: PercpuRow[]): string {
  const out: string[] = [];
  const head = ['size', 'on demand', 'on demand, prefilled'];
  for (const n of [...new Set(rows.map((r) => r.cpus))]) {
    const rs = rows.filter((r) => r.cpus === n);
    const r0 = rs[0]!;
    out.push(`${n} CPUs, all ${NUM_CACHES} buckets: ${bytesText(r0.allBuckets)} one unit each;` +
      ` prefill adds ${bytesText(r0.allBucketsPrefill - r0.allBuckets)}, ${bytesText(r0.allBucketsPrefill)} in all`);
    const cells = rs.map((r) => [`${r.size} B`, bytesText(r.onDemand), bytesText(r.onDemandPrefill)]);
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: string[]): string => '  ' + c.map((s, i) => (i === 0 ? s.padStart(w[i]!) : s.padEnd(w[i]!))).join('  ').trimEnd();
    out.push(line(head));
    for (const c of cells) out.push(line(c));
    out.push('');
  }
  const seedSum = BUCKETS.reduce((a, s) => a + (s === 192 ? SEED_TEXT_192_AS : s), 0);
  out.push(`note: seed 000's text sums the 192-byte bucket as ${SEED_TEXT_192_AS} (${seedSum} x cpus^2 instead of ` +
    `${BUCKETS.reduce((a, s) => a + s, 0)} x cpus^2); both round to ~138 MB at 128 CPUs. Bytes above use sizes[].`);
  return out.join('\n');
}
