// percpu.c (seed 003): pcpu_chunk_page_occupied(), pcpu_map()/pcpu_unmap(),
// pcpu_depopulate_chunk(), pcpu_populate_chunk(). Pages are populated on
// demand, page by page, for every possible CPU, with GFP_KERNEL.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { ENOMEM } from './area.ts';
import { computed, gfpKernel, type Pcpu, type PcpuChunk } from './chunk.ts';

const PFN_DOWN = (p: Pcpu, v: number): number => Math.floor(v / p.geom.pageSize);
const PFN_UP = (p: Pcpu, v: number): number => Math.ceil(v / p.geom.pageSize);

/** percpu.c: pcpu_chunk_page_occupied(). Elided in the seed; inferred as
 *  CPU 0's page pointer, the least the populate/depopulate pair needs:
 *  both treat a page index as populated for every CPU or none. */
export function pcpuChunkPageOccupied(p: Pcpu, c: PcpuChunk, i: number): boolean {
  return c.page[p.pagep(0, i)] !== null;
}

/** A page backs byte i of a live area on cpu: allocated and not freed. */
export function pagePopulated(p: Pcpu, c: PcpuChunk, cpu: number, i: number): boolean {
  const pg = c.page[p.pagep(cpu, i)];
  return pg !== null && pg !== undefined && !pg.freed;
}

/** percpu.c: pcpu_map()/pcpu_unmap(): page tables for [start, end) on every
 *  CPU. Elided in the seed; pcpu_populate_chunk() checks pcpu_map() for
 *  failure (map_kernel_range_noflush() allocates page-table pages, so it
 *  can fail with -ENOMEM): one step, failing on an armed 'vmap' fault (a
 *  kind of its own: an armed 'page' fault is taken by the first
 *  alloc_pages_node() before any pcpu_map() runs). */
function* pcpuMap(x: Context, c: PcpuChunk, start: number, end: number): Gen<number> {
  const err = x.k.slab.fails('vmap', x) ? ENOMEM : 0;
  if (!err) for (let i = start; i < end; i++) c.mapped[i] = true;
  x.touched = `${c.name}.vm`;
  yield `pcpu_map(${c.name}, ${start}, ${end})${err ? ' = -ENOMEM' : ''}`;
  return err;
}
function* pcpuUnmap(x: Context, c: PcpuChunk, start: number, end: number, flush: boolean): Gen<void> {
  for (let i = start; i < end; i++) c.mapped[i] = false;
  x.touched = `${c.name}.vm`;
  yield `pcpu_unmap(${c.name}, ${start}, ${end}${flush ? ', flush' : ''})`;
}

/** percpu.c: pcpu_depopulate_chunk(): free every page of [off, off+size)
 *  on every CPU that has one, NULL its pointer, unmap what was freed. */
function* depopulate(x: Context, p: Pcpu, c: PcpuChunk, off: number, size: number, flush: boolean): Gen<void> {
  const pageStart = PFN_DOWN(p, off);
  const pageEnd = PFN_UP(p, off + size);
  let unmapStart = -1;
  let unmapEnd = 0;
  for (let i = pageStart; i < pageEnd; i++) {
    for (let cpu = 0; cpu < p.cpus; cpu++) {
      const j = p.pagep(cpu, i);
      const pg = c.page[j];
      if (!pg) continue;
      p.drop(x, pg, '__free_page');
      if (p.ops.depopulateClearsPagep) c.page[j] = null; // the next populate must see it empty
      x.touched = `${c.name}.page[cpu${cpu}][${i}]`;
      yield `__free_page(${pg.name})`;
      unmapStart = unmapStart < 0 ? i : unmapStart;
      unmapEnd = i + 1;
    }
  }
  if (unmapStart >= 0) yield* pcpuUnmap(x, c, unmapStart, unmapEnd, flush);
}
export const pcpuDepopulateChunk = kfunc('pcpu_depopulate_chunk', depopulate);

/** percpu.c: pcpu_populate_chunk(): allocate and map the pages of
 *  [off, off+size) not yet occupied, for every possible CPU; on failure
 *  give back every page of the range (as written: also the pages that were
 *  occupied before, which other live areas may sit on). */
function* populate(x: Context, p: Pcpu, c: PcpuChunk, off: number, size: number): Gen<number> {
  const pageStart = PFN_DOWN(p, off);
  const pageEnd = PFN_UP(p, off + size);
  let mapStart = -1;
  let mapEnd = 0;
  let err = false;
  // sharedPage: kept per context for coverage (computed.sharedPage)
  computed.sharedPage.delete(x);
  out: for (let i = pageStart; i < pageEnd; i++) {
    if (pcpuChunkPageOccupied(p, c, i)) {
      computed.sharedPage.add(x);
      if (mapStart >= 0) {
        if (yield* pcpuMap(x, c, mapStart, mapEnd)) {
          err = true;
          break out;
        }
        mapStart = -1;
      }
      continue;
    }
    mapStart = mapStart < 0 ? i : mapStart;
    mapEnd = i + 1;
    for (let cpu = 0; cpu < p.ops.populateCpus(p); cpu++) {
      const pg = yield* gfpKernel(x, p, `alloc_pages_node(cpu${cpu}, GFP_KERNEL)`, 'page', `${c.name}:cpu${cpu}:p${i}`);
      c.page[p.pagep(cpu, i)] = pg;
      if (!pg) {
        err = true;
        break out;
      }
    }
  }
  if (!err && mapStart >= 0 && (yield* pcpuMap(x, c, mapStart, mapEnd))) err = true;
  if (err) {
    // likely under heavy memory pressure, give memory back
    yield* p.ops.depopulate(x, p, c, off, size, true);
    return ENOMEM;
  }
  x.touched = `${c.name}.vm`;
  yield `memset(${c.name} + ${off}, 0, ${size}) on every CPU`;
  return 0;
}
export const pcpuPopulateChunk = kfunc('pcpu_populate_chunk', populate);
