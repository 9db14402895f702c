// Bug zoo, seed 003: pcpu_depopulate_chunk() frees each page but leaves *pagep set (Morton: "Why did *pagep get zeroed?").
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuDepopulateKeepsPagep = percpuChunkPolicy({
  name: 'bug/pcpu-depopulate-keeps-pagep',
  summary: 'pcpu_depopulate_chunk() frees each page but leaves *pagep set (Morton: "Why did *pagep get zeroed?")',
  bug: { invariants: ['PcpuLiveAreaPopulated', 'NoKernelWarn', 'NoLeakAtTeardown'], why: 'pcpu_chunk_page_occupied() reads the stale pointer: a later area lies on a freed page, which a later depopulate frees again' },
  ops: { depopulateClearsPagep: false },
});
