// Bug zoo, seed 003: free_percpu() treats the first chunk as static only and never frees areas in it.
import { pcpuFreeArea } from '../percpu_chunk/area.ts';
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuFreeSkipsStatic = percpuChunkPolicy({
  name: 'bug/pcpu-free-skips-static',
  summary: 'free_percpu() treats the first chunk as static only and never frees areas in it',
  bug: { invariants: ['PcpuAreasMatchModel', 'NoLeakAtTeardown'], why: "a freed area stays allocated in the static chunk's map" },
  ops: {
    freeArea: function* (x, p, c, off) {
      if (c === p.static) return; // the bug
      yield* pcpuFreeArea(x, p, c, off);
    },
  },
});
