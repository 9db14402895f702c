// percpu.c (seed 003): free_percpu() with its "kill one fully free chunk"
// path, and the model's own teardown (the kernel never tears percpu down).
import { report } from '../kernel/events.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { mutexLock, mutexUnlock } from '../kernel/mutex.ts';
import { type Gen } from '../kernel/types.ts';
import { pcpuChunkAddrSearch, pcpuChunkSlot, type Pcpu } from './chunk.ts';
import { pcpuKillChunk } from './alloc.ts';

/** percpu.c: free_percpu() */
export const freePercpu = kfunc('free_percpu', function* (x: Context, p: Pcpu, addr: number | null): Gen<void> {
  if (!addr) return; // free_percpu(NULL) is allowed
  yield* mutexLock(x, p.mutex);
  const chunk = pcpuChunkAddrSearch(p, addr);
  if (!chunk) report('warn', `free_percpu(${addr}): no chunk holds it (pcpu_chunk_addr_search)`);
  const off = addr - chunk.addr;
  yield* p.ops.freeArea(x, p, chunk, off);
  // the chunk became fully free: kill one other fully free chunk, if any
  if (chunk.free_size === p.unitSize) {
    const head = p.slot[pcpuChunkSlot(chunk)]!;
    for (let pos = head.next; pos !== head; pos = pos.next) {
      if (pos.chunk !== chunk) {
        yield* p.ops.killChunk(x, p, pos.chunk!);
        break;
      }
    }
  }
  yield* mutexUnlock(x, p.mutex);
});

/** Not in percpu.c: after every area was freed, give back what the
 *  allocator still holds (the spare fully free chunk, the static chunk's
 *  map and on-demand pages), so NoLeakAtTeardown can see anything else.
 *  A chunk that is not fully free holds an area nobody owns: a leak. */
export const pcpuTeardown = kfunc('pcpu_teardown', function* (x: Context, p: Pcpu): Gen<void> {
  yield* mutexLock(x, p.mutex);
  const st = p.static;
  let spare = 0;
  for (const c of [...p.chunks]) {
    if (c === st) continue;
    if (c.free_size !== p.unitSize) {
      report('leak', `${c.name} still has ${p.unitSize - c.free_size} bytes allocated after every area was freed`);
    }
    spare++;
    yield* p.ops.killChunk(x, p, c);
  }
  if (st) {
    if (st.free_size !== p.unitSize - p.geom.staticSize) {
      report('leak', `the static chunk still has ${p.unitSize - p.geom.staticSize - st.free_size} dynamic bytes allocated after every area was freed`);
    }
    const from = Math.ceil(p.geom.staticSize / p.geom.pageSize) * p.geom.pageSize;
    yield* p.ops.depopulate(x, p, st, from, p.unitSize - from, false);
    if (st.map) {
      p.drop(x, st.map, st.map.vmalloced ? 'vfree' : 'kfree');
      st.map = null;
      yield `kfree(${st.name}.map)`;
    }
  }
  yield* mutexUnlock(x, p.mutex);
});
