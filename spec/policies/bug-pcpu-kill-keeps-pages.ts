// Bug zoo, seed 003: pcpu_kill_chunk() frees the chunk without pcpu_depopulate_chunk().
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { freePcpuChunk } from '../percpu_chunk/alloc.ts';
import { listDel, type Pcpu, type PcpuChunk } from '../percpu_chunk/chunk.ts';
import { percpuChunkPolicy } from './percpu-chunk.ts';

const killKeepingPages = kfunc('pcpu_kill_chunk', function* (x: Context, p: Pcpu, c: PcpuChunk): Gen<void> {
  // the bug: no pcpu_depopulate_chunk(chunk, 0, PCPU_UNIT_SIZE, false)
  listDel(c.list);
  p.addrTree.delete(c.addr);
  yield `list_del(&${c.name}->list); rb_erase(&${c.name}->rb_node)`;
  yield* freePcpuChunk(x, p, c);
});

export const pcpuKillKeepsPages = percpuChunkPolicy({
  name: 'bug/pcpu-kill-keeps-pages',
  summary: 'pcpu_kill_chunk() frees the chunk without pcpu_depopulate_chunk()',
  bug: { invariants: ['NoLeakAtTeardown'], why: "the killed chunk's pages are never freed" },
  ops: { killChunk: (x, p, c) => killKeepingPages(x, p, c) },
});
