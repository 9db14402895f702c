// percpu.c (seed 003): pcpu_realloc(), pcpu_split_block(), pcpu_alloc_area(),
// pcpu_free_area(). The map holds signed sizes: positive free, negative
// allocated, in offset order, covering one unit. All run under pcpu_mutex.
import { report } from '../kernel/events.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { mightSleep } from '../kernel/might_sleep.ts';
import { type Gen } from '../kernel/types.ts';
import { computed, MapBuf, pcpuChunkRelocate, pcpuChunkSlot, SIZEOF_INT, stampStep, type Pcpu, type PcpuChunk } from './chunk.ts';
import { Field } from '../kernel/fields.ts';

export const ENOMEM = -12;
export const ENOSPC = -28;

/** kmalloc(0) */
export const ZERO_SIZE_PTR = new MapBuf('ZERO_SIZE_PTR', [], false);

const ALIGN = (v: number, a: number): number => Math.ceil(v / a) * a;

/** percpu.c: pcpu_realloc(): kmalloc up to PAGE_SIZE, vmalloc above; both
 *  GFP_KERNEL (might_sleep). Sizes in bytes; the buffer holds ints. */
export const pcpuRealloc = kfunc('pcpu_realloc', function* (x: Context, p: Pcpu, old: MapBuf | null, size: number, newSize: number, name: string): Gen<MapBuf | null> {
  const page = p.geom.pageSize;
  let buf: MapBuf | null = null;
  if (newSize <= page) {
    // kmalloc(0) returns ZERO_SIZE_PTR before slab's might_sleep_if()
    if (newSize === 0) buf = ZERO_SIZE_PTR;
    else {
      mightSleep(x, `kmalloc(${newSize}, GFP_KERNEL)`);
      if (!x.k.slab.fails('kmalloc')) buf = new MapBuf(name, [], false);
      stampStep(computed.alloc, x);
      computed.alloc.ok = buf !== null;
    }
    yield `kmalloc(${newSize}) = ${buf ? buf.name : 'NULL'}`;
  } else {
    mightSleep(x, `vmalloc(${newSize})`);
    if (!x.k.slab.fails('kmalloc')) buf = new MapBuf(name, [], true);
    stampStep(computed.alloc, x);
    computed.alloc.ok = buf !== null;
    yield `vmalloc(${newSize}) = ${buf ? buf.name : 'NULL'}`;
  }
  if (newSize && !buf) return null;
  if (buf !== ZERO_SIZE_PTR) p.keep(buf!);
  // memcpy(new, p, min(size, new_size)) and memset(new + size, 0, ...)
  const n = newSize / SIZEOF_INT;
  if (old) x.k.touch(x, old, 'map');
  for (let i = 0; i < n; i++) buf!.ents[i] = old && i < size / SIZEOF_INT ? (old.ents[i] ?? 0) : 0;
  yield `memcpy(${buf!.name}, ${old ? old.name : 'NULL'}, ${Math.min(size, newSize)})`;
  if (old) {
    if (old.vmalloced !== size > page) report('warn', `${x.fn} frees ${old.name} with the wrong one of kfree/vfree`);
    p.drop(x, old, size <= page ? 'kfree' : 'vfree');
    yield `${size <= page ? 'kfree' : 'vfree'}(${old.name})`;
  }
  return buf;
});

/** percpu.c: pcpu_split_block(): make room for a head and/or tail entry
 *  around map[i], doubling the map when it is full. (Elided in the seed:
 *  inferred from its callers: map[i] becomes head, size, tail in that
 *  order; a failed growth changes nothing.) */
export const pcpuSplitBlock = kfunc('pcpu_split_block', function* (x: Context, p: Pcpu, c: PcpuChunk, i: number, head: number, tail: number): Gen<number> {
  const nrExtra = (head ? 1 : 0) + (tail ? 1 : 0);
  const target = c.map_used + nrExtra;
  if (c.map_alloc < target) {
    let newAlloc = c.map_alloc;
    while (newAlloc < target) newAlloc *= 2;
    const buf = yield* pcpuRealloc(x, p, c.map, c.map_alloc * SIZEOF_INT, newAlloc * SIZEOF_INT, `${c.name}.map@${newAlloc}`);
    if (!buf) return ENOMEM;
    c.map_alloc = newAlloc;
    c.map = buf;
  }
  const m = c.map!.ents;
  // memmove(&map[i + nr_extra], &map[i], ...): map[i] is left in place too
  m.splice(i, 0, ...new Array<number>(nrExtra).fill(m[i]!));
  c.map_used += nrExtra;
  if (head) {
    m[i + 1] = m[i]! - head;
    m[i++] = head;
  }
  if (tail) {
    m[i++]! -= tail;
    m[i] = tail;
  }
  x.touched = `${c.name}.map`;
  yield `pcpu_split_block(${c.name}, head ${head}, tail ${tail}): map_used = ${c.map_used}`;
  return 0;
});

/** percpu.c: pcpu_alloc_area(): first fit over the map; returns the offset,
 *  -ENOSPC (the hint is updated from the full scan) or -ENOMEM. */
function* allocArea(x: Context, p: Pcpu, c: PcpuChunk, size: number, align: number): Gen<number> {
  const oslot = pcpuChunkSlot(c);
  let maxContig = 0;
  // the static chunk gets its map on first use: kmalloc was not up at boot
  if (!c.map) {
    const buf = yield* pcpuRealloc(x, p, null, 0, p.dflMapAlloc * SIZEOF_INT, `${c.name}.map@${p.dflMapAlloc}`);
    if (!buf) return ENOMEM;
    c.map = buf;
    c.map_alloc = p.dflMapAlloc;
    buf.ents[c.map_used++] = -p.geom.staticSize;
    if (c.free_size) buf.ents[c.map_used++] = c.free_size;
  }
  x.k.touch(x, c.map, 'map');
  for (let i = 0, off = 0; i < c.map_used; off += Math.abs(c.map.ents[i++]!)) {
    const m = c.map.ents;
    const isLast = i + 1 === c.map_used;
    let head = p.ops.alignHead(off, align);
    if (i === 0 && head !== 0) report('warn', 'BUG_ON(i == 0 && head != 0)');
    x.touched = `${c.name}.map[${i}]`;
    yield `${c.name}.map[${i}] = ${m[i]} at ${off}`;
    if (m[i]! < 0) continue;
    if (m[i]! < head + size) {
      maxContig = Math.max(m[i]!, maxContig);
      continue;
    }
    stampStep(computed.fit, x);
    computed.fit.headJoined = 0;
    // a head smaller than an int, or after a free block, joins the block before
    if (head && (head < SIZEOF_INT || m[i - 1]! > 0)) {
      computed.fit.headJoined = Math.sign(m[i - 1]!);
      if (m[i - 1]! > 0) {
        m[i - 1]! += head;
      } else {
        m[i - 1]! -= head;
        p.ops.headMergeFreeSize(c, head);
      }
      m[i]! -= head;
      off += head;
      head = 0;
    }
    // a tail smaller than an int stays with the area
    let tail = m[i]! - head - size;
    computed.fit.tailKept = tail > 0 && tail < SIZEOF_INT;
    if (tail < SIZEOF_INT) tail = 0;
    if (head || tail) {
      if (yield* p.ops.splitBlock(x, p, c, i, head, tail)) return ENOMEM;
      const mm = c.map.ents;
      if (head) {
        i++;
        off += head;
        maxContig = Math.max(mm[i - 1]!, maxContig);
      }
      if (tail) maxContig = Math.max(mm[i + 1]!, maxContig);
    }
    const mm = c.map.ents;
    p.ops.updateHint(x, c, isLast, maxContig);
    c.free_size -= mm[i]!;
    mm[i] = p.ops.markAllocated(mm[i]!);
    x.touched = `${c.name}.map[${i}]`;
    yield `${c.name}.map[${i}] = ${mm[i]}, free_size = ${c.free_size}, contig_hint = ${c.contig_hint}`;
    yield* p.ops.relocateAfterAlloc(x, p, c, oslot);
    return off;
  }
  c.contig_hint = maxContig; // fully scanned
  x.target = new Field(c, 'contig_hint');
  yield `${c.name}.contig_hint = ${maxContig} (fully scanned)`;
  yield* pcpuChunkRelocate(x, p, c, oslot);
  return ENOSPC;
}
export const pcpuAllocArea = kfunc('pcpu_alloc_area', allocArea);

/** The hint after a hit: exact after a full scan, only raised otherwise. */
export function updateHint(x: Context, c: PcpuChunk, isLast: boolean, maxContig: number): void {
  if (isLast) c.contig_hint = maxContig;
  else {
    stampStep(computed.partialScan, x);
    c.contig_hint = Math.max(c.contig_hint, maxContig);
  }
}

/** percpu.c: pcpu_free_area(): mark map entry at freeme free and merge it
 *  with free neighbours. (Elided in the seed: inferred from "merging" in
 *  the brief and from pcpu_alloc_area's use of the map.) */
function* freeArea(x: Context, p: Pcpu, c: PcpuChunk, freeme: number): Gen<void> {
  const oslot = pcpuChunkSlot(c);
  x.k.touch(x, c.map!, 'map');
  const m = c.map!.ents;
  let i = 0;
  let off = 0;
  for (; i < c.map_used; off += Math.abs(m[i++]!)) if (off === freeme) break;
  if (off !== freeme) report('warn', `BUG_ON(off != freeme): ${c.name} has no area at ${freeme}`);
  if (m[i]! > 0) report('warn', `BUG_ON(chunk->map[i] > 0): ${c.name} area at ${freeme} is already free`);
  m[i] = -m[i]!;
  c.free_size += m[i]!;
  x.touched = `${c.name}.map[${i}]`;
  yield `${c.name}.map[${i}] = ${m[i]}, free_size = ${c.free_size}`;
  if (i > 0 && m[i - 1]! >= 0) {
    stampStep(computed.merge, x);
    computed.merge.prev = true;
    m[i - 1]! += m[i]!;
    m.splice(i, 1);
    c.map_used--;
    i--;
    yield `merge with ${c.name}.map[${i}]: ${m[i]}`;
  }
  if (p.ops.freeMergesNext && i + 1 < c.map_used && m[i + 1]! >= 0) {
    stampStep(computed.merge, x);
    computed.merge.prev = false;
    m[i]! += m[i + 1]!;
    m.splice(i + 1, 1);
    c.map_used--;
    yield `merge with ${c.name}.map[${i + 1}]: ${m[i]}`;
  }
  c.contig_hint = Math.max(m[i]!, c.contig_hint);
  yield* p.ops.relocateAfterFree(x, p, c, oslot);
}
export const pcpuFreeArea = kfunc('pcpu_free_area', freeArea);
