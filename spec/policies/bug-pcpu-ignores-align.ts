// Bug zoo, seed 003: pcpu_alloc_area() computes no head for the alignment.
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuIgnoresAlign = percpuChunkPolicy({
  name: 'bug/pcpu-ignores-align',
  summary: 'pcpu_alloc_area() computes no head for the alignment',
  bug: { invariants: ['PcpuAreaAligned'], why: 'the first fit is returned wherever it starts' },
  ops: { alignHead: () => 0 },
});
