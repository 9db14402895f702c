// Bug zoo, seed 003: pcpu_split_block() writes the tail entry without `map[i++] -= tail`.
import { pcpuSplitBlock } from '../percpu_chunk/area.ts';
import { percpuChunkPolicy } from './percpu-chunk.ts';

export const pcpuSplitKeepsTail = percpuChunkPolicy({
  name: 'bug/pcpu-split-keeps-tail',
  summary: 'pcpu_split_block() writes the tail entry without `map[i++] -= tail`',
  bug: { invariants: ['PcpuMapCoversUnit', 'PcpuFreeSizeExact'], why: "the allocated entry keeps the tail's bytes that the new tail entry also holds: the map covers more than the unit" },
  ops: {
    splitBlock: function* (x, p, c, i, head, tail) {
      const err = yield* pcpuSplitBlock(x, p, c, i, head, tail);
      if (!err && tail) c.map!.ents[head ? i + 1 : i]! += tail; // the bug: undo `map[i++] -= tail`
      return err;
    },
  },
});
