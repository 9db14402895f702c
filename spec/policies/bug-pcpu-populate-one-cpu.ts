// Bug zoo, seed 003: pcpu_populate_chunk() populates only the CPU that asks (cpu 0 here), not every possible CPU.
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuPopulateOneCpu = percpuChunkPolicy({
  name: 'bug/pcpu-populate-one-cpu',
  summary: 'pcpu_populate_chunk() populates only the CPU that asks (cpu 0 here), not every possible CPU',
  bug: { invariants: ['PcpuLiveAreaPopulated'], why: 'the other units of the area have no page behind them' },
  ops: { populateCpus: () => 1 },
});
