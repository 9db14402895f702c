// Bug zoo, seed 003: pcpu_alloc_area() forgets `chunk->map[i] = -chunk->map[i]`.
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuAllocKeepsEntryFree = percpuChunkPolicy({
  name: 'bug/pcpu-alloc-keeps-entry-free',
  summary: 'pcpu_alloc_area() forgets `chunk->map[i] = -chunk->map[i]`',
  bug: { invariants: ['PcpuAreasDisjoint', 'PcpuFreeSizeExact', 'PcpuAreasMatchModel'], why: "the area's entry stays free: the next allocation gets the same bytes" },
  ops: { markAllocated: (ent) => ent },
});
