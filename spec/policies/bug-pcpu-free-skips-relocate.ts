// Bug zoo, seed 003, behind a known finding: pcpu_free_area() without the
// pcpu_chunk_relocate() at its end. The chunk's free size grows and it
// stays on the slot list of its old size: PcpuChunkInSlot, which
// percpu-chunk declares for its own head-merge path (a chunk left above its
// slot); only that finding's signature tells them apart.
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuFreeSkipsRelocate = percpuChunkPolicy({
  name: 'bug/pcpu-free-skips-relocate',
  summary: 'pcpu_free_area() returns without pcpu_chunk_relocate()',
  bug: { invariants: ['PcpuChunkInSlot'], why: 'free_size grew but the chunk stays on the slot list of its old size', behindFinding: true },
  ops: {
    // the bug: no pcpu_chunk_relocate(chunk, oslot) after a free
    relocateAfterFree: function* () {},
  },
});
