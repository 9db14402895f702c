// Memory accounting of seed 003's allocator: pages populated per CPU
// against bytes live, for a few allocation patterns, run sequentially on
// the spec itself (4 KiB pages, 64 KiB units). Every possible CPU gets the
// same pages, so the total is pages per CPU x possible CPUs (Morton's
// num_possible_cpus() question). Pages are given back only when a chunk
// is killed, never when an area is freed. Data first, text second.
import type { Context } from '../kernel/context.ts';
import { Kernel } from '../kernel/kernel.ts';
import type { Obj } from '../kernel/obj.ts';
import { runToEnd } from '../kernel/sched.ts';
import type { PcpuGeom } from './chunk.ts';
import { PAGE_GEOM } from '../policies/bpf-ma-on-percpu-chunk.ts';
import { makePcpu, pcpuAllocObj, pcpuFreeObj, type PcpuState } from '../policies/percpu-chunk.ts';

export interface PcpuPattern {
  name: string;
  /** what the pattern does, one line */
  what: string;
  run(alloc: (size: number, align: number) => Obj | null, free: (o: Obj) => void): void;
}

export const PATTERNS: readonly PcpuPattern[] = [
  {
    name: 'ints',
    what: '1000 x 4-byte counters',
    run: (alloc) => {
      for (let i = 0; i < 1000; i++) alloc(4, 4);
    },
  },
  {
    name: 'every-other-freed',
    what: '512 x 64 bytes, then every other one freed',
    run: (alloc, free) => {
      const objs = Array.from({ length: 512 }, () => alloc(64, 8)!);
      objs.forEach((o, i) => i % 2 && free(o));
    },
  },
  {
    name: 'page-aligned',
    what: '24 x 100 bytes aligned to PAGE_SIZE',
    run: (alloc) => {
      for (let i = 0; i < 24; i++) alloc(100, 4096);
    },
  },
  {
    name: 'unit-sized',
    what: '3 x 64 KiB (one chunk each), then two freed',
    run: (alloc, free) => {
      const objs = [0, 1, 2].map(() => alloc(65536, 4096)!);
      free(objs[0]!);
      free(objs[1]!);
    },
  },
  {
    name: 'all-freed',
    what: '200 x 1..300 bytes, then all freed',
    run: (alloc, free) => {
      const objs = Array.from({ length: 200 }, (_, i) => alloc(1 + ((i * 37) % 300), 8)!);
      for (const o of objs) free(o);
    },
  },
];

export interface PcpuChunkRow {
  pattern: string;
  what: string;
  cpus: number;
  /** bytes of the live areas (per CPU: every CPU has its copy) */
  bytesLive: number;
  /** dynamic pages populated per CPU (the static area's bootmem pages excluded) */
  pagesPerCpu: number;
  /** pagesPerCpu x PAGE_SIZE */
  bytesPerCpu: number;
  /** pages on all possible CPUs */
  pagesTotal: number;
  /** chunks besides the static one */
  chunks: number;
  /** map entries in use over all chunks, and the bytes of their map buffers */
  mapEntries: number;
  mapBytes: number;
}

function measure(s: PcpuState, pattern: PcpuPattern, cpus: number): PcpuChunkRow {
  const p = s.p;
  let pages = 0;
  let total = 0;
  let mapEntries = 0;
  let mapBytes = 0;
  for (const c of p.chunks) {
    for (let cpu = 0; cpu < cpus; cpu++) {
      for (let i = 0; i < p.unitPages; i++) {
        const pg = c.page[p.pagep(cpu, i)];
        if (pg && !pg.name.startsWith('bootmem')) {
          total++;
          if (cpu === 0) pages++;
        }
      }
    }
    if (c.map) {
      mapEntries += c.map_used;
      mapBytes += c.map_alloc * 4;
    }
  }
  return {
    pattern: pattern.name,
    what: pattern.what,
    cpus,
    bytesLive: s.model.bytesLive,
    pagesPerCpu: pages,
    bytesPerCpu: pages * p.geom.pageSize,
    pagesTotal: total,
    chunks: p.chunks.size - 1,
    mapEntries,
    mapBytes,
  };
}

/** Run each pattern on a fresh allocator with `cpus` possible CPUs. */
export function percpuChunkReport(cpus: readonly number[] = [4, 64], geom: PcpuGeom = PAGE_GEOM): PcpuChunkRow[] {
  const rows: PcpuChunkRow[] = [];
  for (const n of cpus) {
    for (const pattern of PATTERNS) {
      const k = new Kernel({ cpus: n, preemptRt: false, rcuTraceImpliesRcuGp: false, maxObjects: 1 << 20, maxTaskNesting: 2, stepLimit: 1 << 20 });
      const s = makePcpu(k, geom);
      const x: Context = k.context(0, 'task', 'report');
      pattern.run(
        (size, align) => runToEnd(pcpuAllocObj(x, s, size, align)),
        (o) => runToEnd(pcpuFreeObj(x, s, o)),
      );
      rows.push(measure(s, pattern, n));
    }
  }
  return rows;
}

const kib = (b: number): string => (b < 1024 ? `${b} B` : `${+(b / 1024).toFixed(2)} KiB`);

export function renderPercpuChunkReport(rows: readonly PcpuChunkRow[]): string {
  const head = ['pattern', 'cpus', 'live/CPU', 'populated/CPU', 'pages (all CPUs)', 'chunks', 'map'];
  const cells = rows.map((r) => [
    r.pattern,
    String(r.cpus),
    kib(r.bytesLive),
    `${kib(r.bytesPerCpu)} (${r.pagesPerCpu} pages)`,
    String(r.pagesTotal),
    String(r.chunks),
    `${r.mapEntries} ents / ${kib(r.mapBytes)}`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((s, i) => s.padEnd(w[i]!)).join('  ').trimEnd();
  const out = ['seed 003 (mm/percpu.c, 2009): pages populated per CPU against bytes live; 4 KiB pages, 64 KiB units', line(head), ...cells.map(line)];
  out.push('', ...PATTERNS.map((p) => `${p.name}: ${p.what}`));
  return out.join('\n');
}
