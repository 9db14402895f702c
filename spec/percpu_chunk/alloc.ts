// percpu.c (seed 003): alloc_pcpu_chunk(), free_pcpu_chunk(),
// pcpu_kill_chunk(), pcpu_setup_static(), __alloc_percpu().
import { report } from '../kernel/events.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { mutexLock, mutexUnlock } from '../kernel/mutex.ts';
import { placeOf, type Gen } from '../kernel/types.ts';
import { ENOSPC, pcpuRealloc } from './area.ts';
import {
  computed,
  gfpKernel,
  listAdd,
  listDel,
  Mem,
  PCPU_MIN_UNIT_PAGES_SHIFT,
  pcpuChunkAddrInsert,
  pcpuChunkRelocate,
  pcpuChunkSlot,
  pcpuSizeToSlot,
  PcpuChunk,
  SIZEOF_INT,
  type Pcpu,
} from './chunk.ts';

/** Chunk base addresses: apart by more than any chunk, never 0. */
const CHUNK_STRIDE = 1 << 24;

/** percpu.c: alloc_pcpu_chunk(). Elided in the seed; inferred as the least
 *  that pcpu_alloc_area() and free_pcpu_chunk() need: a kzalloc'd chunk
 *  (SIZEOF_STRUCT_PCPU_CHUNK), a PCPU_DFL_MAP_ALLOC map with one free entry
 *  of the whole unit, a vm area (get_vm_area, GFP_KERNEL), free_size =
 *  contig_hint = unit size. Each failure undoes through free_pcpu_chunk(). */
export const allocPcpuChunk = kfunc('alloc_pcpu_chunk', function* (x: Context, p: Pcpu): Gen<PcpuChunk | null> {
  const n = p.chunkSeq++;
  const name = `chunk${n}`;
  const struct = yield* gfpKernel(x, p, 'kzalloc(SIZEOF_STRUCT_PCPU_CHUNK, GFP_KERNEL)', 'kmalloc', `${name}.struct`);
  if (!struct) return null;
  const c = new PcpuChunk(name, p.unitPages * p.cpus, struct);
  c.addr = (n + 1) * CHUNK_STRIDE;
  p.chunks.add(c);
  c.map = yield* pcpuRealloc(x, p, null, 0, p.dflMapAlloc * SIZEOF_INT, `${name}.map@${p.dflMapAlloc}`);
  if (!c.map) {
    yield* freePcpuChunk(x, p, c);
    return null;
  }
  c.map_alloc = p.dflMapAlloc;
  c.map.ents[c.map_used++] = p.unitSize;
  c.vm = yield* gfpKernel(x, p, 'get_vm_area(PCPU_CHUNK_SIZE, GFP_KERNEL)', 'kmalloc', `${name}.vm`);
  if (!c.vm) {
    yield* freePcpuChunk(x, p, c);
    return null;
  }
  c.free_size = p.unitSize;
  c.contig_hint = p.unitSize;
  return c;
});

/** percpu.c: free_pcpu_chunk() */
export const freePcpuChunk = kfunc('free_pcpu_chunk', function* (x: Context, p: Pcpu, c: PcpuChunk | null): Gen<void> {
  if (!c) return;
  if (c.vm) {
    p.drop(x, c.vm, 'free_vm_area');
    yield `free_vm_area(${c.vm.name})`;
  }
  // pcpu_realloc(map, size, 0): kmalloc(0) is ZERO_SIZE_PTR, the old map is freed
  yield* pcpuRealloc(x, p, c.map, c.map_alloc * SIZEOF_INT, 0, 'ZERO_SIZE_PTR');
  c.map = null;
  if (c.struct) p.drop(x, c.struct, 'kfree');
  c.freed = true;
  p.chunks.delete(c);
  yield `kfree(${c.name})`;
});

/** percpu.c: pcpu_kill_chunk(). Elided; inferred: depopulate the whole
 *  unit, unlink from its slot and the address tree, free it. */
export const pcpuKillChunk = kfunc('pcpu_kill_chunk', function* (x: Context, p: Pcpu, c: PcpuChunk): Gen<void> {
  yield* p.ops.depopulate(x, p, c, 0, p.unitSize, false);
  listDel(c.list);
  p.addrTree.delete(c.addr);
  x.touched = 'pcpu_slot';
  yield `list_del(&${c.name}->list); rb_erase(&${c.name}->rb_node)`;
  yield* freePcpuChunk(x, p, c);
});

/** percpu.c: pcpu_setup_static(), at boot: the first chunk holds the
 *  kernel's static percpu area, pages from bootmem, and no map yet. */
export function pcpuSetupStatic(p: Pcpu): PcpuChunk {
  const nrCpuPages = Math.ceil(p.geom.staticSize / p.geom.pageSize);
  const c = new PcpuChunk('chunk_static', p.unitPages * p.cpus, null);
  p.chunkSeq++;
  c.addr = CHUNK_STRIDE;
  c.vm = new Mem('static_vm');
  c.free_size = p.unitSize - p.geom.staticSize;
  c.contig_hint = c.free_size;
  for (let cpu = 0; cpu < p.cpus; cpu++) {
    for (let i = 0; i < nrCpuPages; i++) c.page[p.pagep(cpu, i)] = new Mem(`bootmem:cpu${cpu}:p${i}`);
  }
  // pcpu_map(static_chunk, 0, nr_cpu_pages)
  for (let i = 0; i < nrCpuPages; i++) c.mapped[i] = true;
  listAdd(c.list, p.slot[pcpuChunkSlot(c)]!); // pcpu_chunk_relocate(static_chunk, -1)
  pcpuChunkAddrInsert(p, c);
  p.chunks.add(c);
  p.static = c;
  return c;
}

export interface PcpuArea {
  chunk: PcpuChunk;
  off: number;
}

/** percpu.c: __alloc_percpu(): search the slots from the one the size
 *  says, fullest first; else a new chunk; then populate the area. */
export const __allocPercpu = kfunc('__alloc_percpu', function* (x: Context, p: Pcpu, size: number, align: number): Gen<PcpuArea | null> {
  if (!size) {
    // no step: the coverage predicate reads it at the caller's next step
    if (computed.sizeZeroOf !== x.k) {
      computed.sizeZeroOf = x.k;
      computed.sizeZeroPending = 0;
    }
    const n = computed.sizeZero.get(x) ?? 0;
    if (n === 0) computed.sizeZeroPending++;
    computed.sizeZero.set(x, n + 1);
    return null;
  }
  if (size > p.geom.pageSize << PCPU_MIN_UNIT_PAGES_SHIFT || align > p.geom.pageSize) {
    yield `printk("illegal size (${size}) or align (${align}) for percpu allocation")`;
    return null;
  }
  yield* mutexLock(x, p.mutex);
  let area: PcpuArea | null = null;
  let chunk: PcpuChunk | null = null;
  let off = -1;
  search: for (let slot = pcpuSizeToSlot(size); slot < p.nrSlots; slot++) {
    const head = p.slot[slot]!;
    // list_for_each_entry(chunk, &pcpu_slot[slot], list) (the _safe form
    // keeps the next entry before the body: PcpuOps.slotWalkSafe)
    for (let pos = head.next, n = pos.next; pos !== head; pos = p.ops.slotWalkSafe ? n : pos.next, n = pos.next) {
      if (pos.chunk === null) {
        report('walk-left-list', `list_for_each_entry over pcpu_slot[${slot}] in __alloc_percpu reached ${pos.name}: pcpu_alloc_area()'s -ENOSPC path relocated the chunk it was on mid-walk`, {
          at: placeOf(x),
          subjects: [`pcpu_slot[${slot}]`],
        });
      }
      const c = pos.chunk;
      x.k.touch(x, c, 'contig_hint');
      if (size > c.contig_hint) continue;
      const err = yield* p.ops.allocArea(x, p, c, size, align);
      if (err >= 0) {
        chunk = c;
        off = err;
        break search;
      }
      if (err !== ENOSPC) {
        yield* mutexUnlock(x, p.mutex);
        return null;
      }
    }
  }
  if (!chunk) {
    // no space left: create a new chunk
    const c = yield* p.ops.allocChunk(x, p);
    if (!c) {
      yield* mutexUnlock(x, p.mutex);
      return null;
    }
    yield* pcpuChunkRelocate(x, p, c, -1);
    pcpuChunkAddrInsert(p, c);
    const err = yield* p.ops.allocArea(x, p, c, size, align);
    if (err < 0) {
      yield* mutexUnlock(x, p.mutex);
      return null;
    }
    chunk = c;
    off = err;
  }
  // area_found: populate, map and clear the area
  if (yield* p.ops.populate(x, p, chunk, off, size)) {
    yield* p.ops.freeArea(x, p, chunk, off);
  } else {
    area = { chunk, off };
  }
  yield* mutexUnlock(x, p.mutex);
  return area;
});
