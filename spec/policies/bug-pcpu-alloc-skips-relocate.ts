// Bug zoo, seed 003: pcpu_alloc_area() returns the offset without pcpu_chunk_relocate().
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuAllocSkipsRelocate = percpuChunkPolicy({
  name: 'bug/pcpu-alloc-skips-relocate',
  summary: 'pcpu_alloc_area() returns the offset without pcpu_chunk_relocate()',
  bug: { invariants: ['PcpuChunkInSlot'], why: 'free_size shrank but the chunk stays on the slot list of its old size' },
  ops: {
    // the bug: no pcpu_chunk_relocate(chunk, oslot) after a hit
    relocateAfterAlloc: function* () {},
  },
});
