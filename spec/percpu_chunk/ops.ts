// The seams of seed 003's allocator a variant may override (STYLE 15): one
// kernel statement or function each, so a one-line mistake is a one-line
// variant. DEFAULT_OPS is percpu.c as written.
import type { Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { pcpuAllocArea, pcpuFreeArea, pcpuSplitBlock, updateHint } from './area.ts';
import { pcpuChunkRelocate, type Pcpu, type PcpuChunk } from './chunk.ts';
import { allocPcpuChunk, pcpuKillChunk } from './alloc.ts';
import { pcpuDepopulateChunk, pcpuPopulateChunk } from './populate.ts';

export interface PcpuOps {
  /** pcpu_alloc_area(): `head = ALIGN(off, align) - off` */
  alignHead(off: number, align: number): number;
  /** pcpu_alloc_area(): a small head joins the allocated block before it */
  headMergeFreeSize(c: PcpuChunk, head: number): void;
  /** pcpu_alloc_area(): the contig_hint update after a hit */
  updateHint(x: Context, c: PcpuChunk, isLast: boolean, maxContig: number): void;
  /** pcpu_alloc_area(): `chunk->map[i] = -chunk->map[i]` */
  markAllocated(ent: number): number;
  /** pcpu_alloc_area(): pcpu_chunk_relocate() after a hit */
  relocateAfterAlloc(x: Context, p: Pcpu, c: PcpuChunk, oslot: number): Gen<void>;
  /** __alloc_percpu(): the slot walk is list_for_each_entry_safe() (false:
   *  list_for_each_entry(), as written) */
  slotWalkSafe: boolean;
  /** pcpu_free_area(): pcpu_chunk_relocate() at its end */
  relocateAfterFree(x: Context, p: Pcpu, c: PcpuChunk, oslot: number): Gen<void>;
  /** pcpu_free_area() also merges with the next block */
  freeMergesNext: boolean;
  /** pcpu_depopulate_chunk(): `*pagep = NULL` */
  depopulateClearsPagep: boolean;
  /** pcpu_populate_chunk(): the CPUs populated (for_each_possible_cpu) */
  populateCpus(p: Pcpu): number;
  splitBlock(x: Context, p: Pcpu, c: PcpuChunk, i: number, head: number, tail: number): Gen<number>;
  allocArea(x: Context, p: Pcpu, c: PcpuChunk, size: number, align: number): Gen<number>;
  freeArea(x: Context, p: Pcpu, c: PcpuChunk, off: number): Gen<void>;
  populate(x: Context, p: Pcpu, c: PcpuChunk, off: number, size: number): Gen<number>;
  depopulate(x: Context, p: Pcpu, c: PcpuChunk, off: number, size: number, flush: boolean): Gen<void>;
  allocChunk(x: Context, p: Pcpu): Gen<PcpuChunk | null>;
  killChunk(x: Context, p: Pcpu, c: PcpuChunk): Gen<void>;
}

export const DEFAULT_OPS: PcpuOps = {
  // ALIGN() of the kernel: align is a power of two
  alignHead: (off, align) => ((off + align - 1) & ~(align - 1)) - off,
  headMergeFreeSize: (c, head) => {
    c.free_size -= head;
  },
  updateHint,
  markAllocated: (ent) => -ent,
  relocateAfterAlloc: (x, p, c, oslot) => pcpuChunkRelocate(x, p, c, oslot),
  slotWalkSafe: false,
  relocateAfterFree: (x, p, c, oslot) => pcpuChunkRelocate(x, p, c, oslot),
  freeMergesNext: true,
  depopulateClearsPagep: true,
  populateCpus: (p) => p.cpus,
  splitBlock: (x, p, c, i, head, tail) => pcpuSplitBlock(x, p, c, i, head, tail),
  allocArea: (x, p, c, size, align) => pcpuAllocArea(x, p, c, size, align),
  freeArea: (x, p, c, off) => pcpuFreeArea(x, p, c, off),
  populate: (x, p, c, off, size) => pcpuPopulateChunk(x, p, c, off, size),
  depopulate: (x, p, c, off, size, flush) => pcpuDepopulateChunk(x, p, c, off, size, flush),
  allocChunk: (x, p) => allocPcpuChunk(x, p),
  killChunk: (x, p, c) => pcpuKillChunk(x, p, c),
};
