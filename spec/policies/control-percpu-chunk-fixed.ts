// Control: seed 003's percpu chunk allocator with its three known findings
// fixed the smallest plausible way (docs/seed-findings.md), each through a
// seam of spec/percpu_chunk/ops.ts:
//
// 1. pcpu_populate_chunk()'s err: path gives back only the pages this call
//    allocated, not every page of the range (populate-error-frees-live-pages,
//    static-page-repopulated-never-freed).
// 2. __alloc_percpu() walks a slot list with list_for_each_entry_safe(), so
//    pcpu_alloc_area()'s -ENOSPC relocation of the chunk it stands on does
//    not take the walk off the list (slot-walk-follows-relocated-chunk).
// 3. pcpu_alloc_area() relocates the chunk on its -ENOMEM path too, when a
//    head merged into the block before already changed free_size
//    (head-merge-then-split-fails).
import type { Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { pcpuSplitBlock } from '../percpu_chunk/area.ts';
import { pcpuChunkRelocate, pcpuChunkSlot, type Mem, type Pcpu, type PcpuChunk } from '../percpu_chunk/chunk.ts';
import type { PcpuOps } from '../percpu_chunk/ops.ts';
import { pcpuPopulateChunk } from '../percpu_chunk/populate.ts';
import { percpuChunkPolicy } from './percpu-chunk.ts';

/** Fix 1: the populate, with an err: path that frees only its own pages. */
export function* populateUndoingOwnPages(x: Context, p: Pcpu, c: PcpuChunk, off: number, size: number): Gen<number> {
  const before: (Mem | null)[] = c.page.slice();
  const ops = p.ops;
  p.ops = {
    ...ops,
    depopulate: function* (y, q, d) {
      for (let j = 0; j < d.page.length; j++) {
        const pg = d.page[j];
        if (!pg || pg === before[j]) continue;
        q.drop(y, pg, '__free_page');
        d.page[j] = null;
        y.touched = `${d.name}.page[${j}]`;
        yield `__free_page(${pg.name})`;
      }
    },
  };
  try {
    return yield* pcpuPopulateChunk(x, p, c, off, size);
  } finally {
    p.ops = ops;
  }
}

/** Fix 3: the slot a chunk had before a head merged into the block before
 *  changed its free_size, for the -ENOMEM path's relocation. */
const slotBeforeMerge = new WeakMap<PcpuChunk, number>();

/** The three fixes as seams of spec/percpu_chunk/ops.ts (also under
 *  control/bpf-ma-on-percpu-chunk-fixed). */
export const PCPU_FIXES: Partial<PcpuOps> = {
  populate: populateUndoingOwnPages, // fix 1
  slotWalkSafe: true, // fix 2
  headMergeFreeSize: (c, head) => {
    slotBeforeMerge.set(c, pcpuChunkSlot(c));
    c.free_size -= head;
  },
  splitBlock: function* (x, p, c, i, head, tail) {
    const err = yield* pcpuSplitBlock(x, p, c, i, head, tail);
    const oslot = slotBeforeMerge.get(c);
    slotBeforeMerge.delete(c);
    if (err && oslot !== undefined) yield* pcpuChunkRelocate(x, p, c, oslot); // fix 3
    return err;
  },
};

export const percpuChunkFixed = percpuChunkPolicy({
  name: 'control/percpu-chunk-fixed',
  summary: "percpu-chunk with pcpu_populate_chunk()'s error path freeing only its own pages, a _safe slot walk, and a relocation on pcpu_alloc_area()'s -ENOMEM path",
  control: {
    of: 'percpu-chunk',
    why: "seed 003's known findings (the populate error path freeing live pages, the slot walk following a relocated chunk, a chunk left on its old slot after a failed split), each fixed",
  },
  ops: PCPU_FIXES,
});
