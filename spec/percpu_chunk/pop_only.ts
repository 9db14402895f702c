// percpu.c after the 2014 series: pcpu_fit_in_area() and
// pcpu_alloc_area(chunk, size, align, pop_only) on seed 003's map (area.ts
// is its first fit as written in 2009; this is the same walk with the head
// from pcpu_fit_in_area(), so an atomic allocation sits only on pages set
// in chunk->populated). Under pcpu_lock (atomic.ts).
import { WARN_ON } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { report } from '../kernel/events.ts';
import type { Gen } from '../kernel/types.ts';
import type { PcpuAtomic } from './atomic.ts';
import { pcpuChunkRelocate, pcpuChunkSlot, SIZEOF_INT, type PcpuChunk } from './chunk.ts';

/** percpu.c: pcpu_fit_in_area(): the head before an area of size bytes in
 *  the free block [off, off + thisSize), or -1; pop_only: every page of the
 *  area populated, trying again after each unpopulated run. */
export function pcpuFitInArea(a: PcpuAtomic, c: PcpuChunk, off: number, thisSize: number, size: number, align: number, popOnly: boolean): number {
  const p = a.p;
  const ps = p.geom.pageSize;
  let cand = off;
  for (;;) {
    const head = cand + p.ops.alignHead(cand, align) - off; // ALIGN(cand_off, align) - off
    if (thisSize < head + size) return -1;
    if (!popOnly) return head;
    const pageEnd = Math.ceil((off + head + size) / ps);
    const end = Math.ceil((off + thisSize) / ps);
    // pcpu_next_unpop(chunk, &rs, &re, PFN_UP(off + this_size))
    let rs = Math.floor((off + head) / ps);
    while (rs < end && a.isPopulated(c, rs)) rs++;
    if (rs >= pageEnd) return head;
    let re = rs;
    while (re < end && !a.isPopulated(c, re)) re++;
    cand = re * ps;
  }
}

/** percpu.c: pcpu_alloc_area(chunk, size, align, pop_only): seed 003's first
 *  fit (area.ts) with the head from pcpu_fit_in_area(); -ENOSPC (and the
 *  hint from the full scan) when nothing fits. Under pcpu_lock; the map has
 *  room (pcpu_need_to_extend()), so pcpu_split_block() allocates nothing. */
export const pcpuAllocAreaPopOnly = kfunc('pcpu_alloc_area', function* (x: Context, a: PcpuAtomic, c: PcpuChunk, size: number, align: number): Gen<number> {
  const p = a.p;
  const oslot = pcpuChunkSlot(c);
  let maxContig = 0;
  x.k.touch(x, c.map!, 'map');
  for (let i = 0, off = 0; i < c.map_used; off += Math.abs(c.map!.ents[i++]!)) {
    const m = c.map!.ents;
    const isLast = i + 1 === c.map_used;
    x.touched = `${c.name}.map[${i}]`;
    yield `${c.name}.map[${i}] = ${m[i]} at ${off}`;
    if (m[i]! < 0) continue;
    let head = pcpuFitInArea(a, c, off, m[i]!, size, align, true);
    if (head < 0) {
      maxContig = Math.max(m[i]!, maxContig);
      continue;
    }
    if (i === 0 && head !== 0) report('warn', 'BUG_ON(i == 0 && head != 0)');
    // a head smaller than an int, or after a free block, joins the block before
    if (head && (head < SIZEOF_INT || m[i - 1]! > 0)) {
      if (m[i - 1]! > 0) {
        m[i - 1]! += head;
      } else {
        m[i - 1]! -= head;
        p.ops.headMergeFreeSize(c, head);
      }
      m[i]! -= head;
      off += head;
      head = 0;
    }
    // a tail smaller than an int stays with the area
    let tail = m[i]! - head - size;
    if (tail < SIZEOF_INT) tail = 0;
    if (head || tail) {
      WARN_ON(x, c.map_alloc < c.map_used + (head ? 1 : 0) + (tail ? 1 : 0), 'WARN_ON(pcpu_split_block() must grow the map under pcpu_lock)');
      if (yield* p.ops.splitBlock(x, p, c, i, head, tail)) return -1;
      const mm = c.map!.ents;
      if (head) {
        i++;
        off += head;
        maxContig = Math.max(mm[i - 1]!, maxContig);
      }
      if (tail) maxContig = Math.max(mm[i + 1]!, maxContig);
    }
    const mm = c.map!.ents;
    p.ops.updateHint(x, c, isLast, maxContig);
    c.free_size -= mm[i]!;
    mm[i] = p.ops.markAllocated(mm[i]!);
    x.touched = `${c.name}.map[${i}]`;
    yield `${c.name}.map[${i}] = ${mm[i]}, free_size = ${c.free_size}, contig_hint = ${c.contig_hint}`;
    yield* p.ops.relocateAfterAlloc(x, p, c, oslot);
    return off;
  }
  c.contig_hint = maxContig; // fully scanned
  x.touched = `${c.name}.contig_hint`;
  yield `${c.name}.contig_hint = ${maxContig} (fully scanned)`;
  yield* pcpuChunkRelocate(x, p, c, oslot);
  return -1;
});
