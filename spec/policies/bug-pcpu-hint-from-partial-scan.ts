// Bug zoo, seed 003: pcpu_alloc_area() sets contig_hint from max_contig after a partial scan too.
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuHintFromPartialScan = percpuChunkPolicy({
  name: 'bug/pcpu-hint-from-partial-scan',
  summary: 'pcpu_alloc_area() sets contig_hint from max_contig after a partial scan too',
  bug: { invariants: ['PcpuContigHintBound'], why: 'a hit before the last entry has not seen the free blocks after it: the hint drops below them' },
  ops: {
    updateHint: (_x, c, _isLast, maxContig) => {
      c.contig_hint = maxContig; // the bug: as if fully scanned
    },
  },
});
