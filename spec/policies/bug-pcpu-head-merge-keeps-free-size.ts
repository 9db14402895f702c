// Bug zoo, seed 003: pcpu_alloc_area() merges a small head into the allocated block before it without `free_size -= head`.
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuHeadMergeKeepsFreeSize = percpuChunkPolicy({
  name: 'bug/pcpu-head-merge-keeps-free-size',
  summary: 'pcpu_alloc_area() merges a small head into the allocated block before it without `free_size -= head`',
  bug: { invariants: ['PcpuFreeSizeExact'], why: "the head's bytes are allocated but still counted free" },
  ops: { headMergeFreeSize: () => {} },
});
