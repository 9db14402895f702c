// The abstract promise of a percpu area allocator (seed 003), and the
// check of percpu.c's concrete state against it: which areas are live, at
// which offset of which chunk, how big and how aligned. The structural
// invariants of the chunk map are judged at quiescence (audit); the
// per-allocation ones the moment __alloc_percpu() returns.
import type { Context } from '../spec/kernel/context.ts';
import type { Audited } from '../spec/kernel/kernel.ts';
import { placeOf, Violation } from '../spec/kernel/types.ts';
import type { Witness } from '../spec/kernel/facts.ts';
import type { InvariantName } from './invariants.ts';
import { pcpuChunkSlot, type Pcpu, type PcpuChunk } from '../spec/percpu_chunk/chunk.ts';
import { pagePopulated } from '../spec/percpu_chunk/populate.ts';

export interface LiveArea {
  readonly name: string;
  readonly chunk: PcpuChunk;
  readonly off: number;
  readonly size: number;
  readonly align: number;
}

export class PcpuAreaModel implements Audited {
  /** live areas by what the caller holds (an Obj, a percpu pointer) */
  readonly live = new Map<unknown, LiveArea>();
  /** the accounting (spec/percpu_chunk/report.ts) */
  bytesLive = 0;

  constructor(readonly p: Pcpu) {}

  /** __alloc_percpu() returned area a to x: aligned, disjoint, populated. */
  allocated(x: Context, key: unknown, a: LiveArea): void {
    if (a.off % a.align !== 0) {
      throw new Violation('PcpuAreaAligned', `__alloc_percpu(${a.size}, ${a.align}) returned ${a.name} at offset ${a.off} of ${a.chunk.name} to ${x.label}`);
    }
    for (const b of this.live.values()) {
      if (b.chunk === a.chunk && a.off < b.off + b.size && b.off < a.off + a.size) {
        throw new Violation(
          'PcpuAreasDisjoint',
          `${a.name} [${a.off}, ${a.off + a.size}) of ${a.chunk.name} overlaps live ${b.name} [${b.off}, ${b.off + b.size})`,
        );
      }
    }
    const hole = this.hole(a.chunk, a.off, a.size);
    if (hole) throw new Violation(hole.invariant, `${a.name} returned to ${x.label}: ${hole.text}`, { at: placeOf(x), subjects: [hole.page] });
    this.live.set(key, a);
    this.bytesLive += a.size;
  }

  freed(key: unknown): LiveArea | undefined {
    const a = this.live.get(key);
    if (a) {
      this.live.delete(key);
      this.bytesLive -= a.size;
    }
    return a;
  }

  /** The first byte of [off, off+size) of c not on a page populated on every CPU. */
  unpopulated(c: PcpuChunk, off: number, size: number): string | null {
    return this.hole(c, off, size)?.text ?? null;
  }

  /** The same, with the page pointer it is about (`chunk.page[cpuN][i]`,
   *  as pcpu_depopulate_chunk()'s step names what it touched), and which
   *  conjunct fails: a page missing on some CPU (PcpuLiveAreaPopulated), or
   *  populated everywhere but not mapped in the chunk's vm area
   *  (PcpuLiveAreaMapped: no pcpu_map() covered it since it was populated,
   *  or a pcpu_unmap() took it out). */
  hole(c: PcpuChunk, off: number, size: number): { invariant: 'PcpuLiveAreaPopulated' | 'PcpuLiveAreaMapped'; text: string; page: string } | null {
    const ps = this.p.geom.pageSize;
    for (let i = Math.floor(off / ps); i < Math.ceil((off + size) / ps); i++) {
      for (let cpu = 0; cpu < this.p.cpus; cpu++) {
        if (!pagePopulated(this.p, c, cpu, i)) return { invariant: 'PcpuLiveAreaPopulated', text: `page ${i} of ${c.name} (bytes ${i * ps}..${(i + 1) * ps - 1}) is not populated on cpu${cpu}`, page: `${c.name}.page[cpu${cpu}][${i}]` };
      }
      if (!c.mapped[i]) return { invariant: 'PcpuLiveAreaMapped', text: `page ${i} of ${c.name} (bytes ${i * ps}..${(i + 1) * ps - 1}) is populated but not mapped (no pcpu_map() covered it)`, page: `${c.name}.vm` };
    }
    return null;
  }

  /** The map of c, or what the static chunk's would be before it gets one. */
  private entries(c: PcpuChunk): number[] {
    if (c.map) return c.map.ents.slice(0, c.map_used);
    const st = this.p.geom.staticSize;
    return c.free_size ? [-st, c.free_size] : [-st];
  }

  audit(fail: (invariant: InvariantName, detail: string, w?: Partial<Witness>) => void): void {
    const p = this.p;
    for (const c of p.chunks) {
      const m = this.entries(c);
      const cover = m.reduce((s, e) => s + Math.abs(e), 0);
      if (cover !== p.unitSize || m.includes(0) || c.map_used > c.map_alloc && c.map !== null) {
        fail('PcpuMapCoversUnit', `${c.name}.map = [${m.join(', ')}] covers ${cover} of ${p.unitSize} bytes (map_used ${c.map_used}, map_alloc ${c.map_alloc})`);
      }
      const free = m.filter((e) => e > 0);
      const sum = free.reduce((s, e) => s + e, 0);
      if (c.free_size !== sum) fail('PcpuFreeSizeExact', `${c.name}.free_size = ${c.free_size} but its free entries sum to ${sum}: [${m.join(', ')}]`);
      const largest = Math.max(0, ...free);
      if (c.contig_hint < largest) {
        fail('PcpuContigHintBound', `${c.name}.contig_hint = ${c.contig_hint} < its largest free entry ${largest}: [${m.join(', ')}]`);
      }
      this.agree(c, m, fail);
    }
    this.slots(fail);
    if (p.static) {
      const hole = this.hole(p.static, 0, p.geom.staticSize);
      if (hole) fail(hole.invariant, `the kernel's static percpu area: ${hole.text}`, { subjects: [hole.page] });
    }
    for (const a of this.live.values()) {
      const hole = this.hole(a.chunk, a.off, a.size);
      if (hole) fail(hole.invariant, `live ${a.name}: ${hole.text}`, { subjects: [hole.page] });
    }
  }

  /** The allocated map entries of c are exactly the live areas (and the
   *  static area), each entry at the area's offset and at least its size. */
  private agree(c: PcpuChunk, m: number[], fail: (invariant: InvariantName, detail: string, w?: Partial<Witness>) => void): void {
    const mine = [...this.live.values()].filter((a) => a.chunk === c);
    const at = new Map<number, number>();
    for (let i = 0, off = 0; i < m.length; off += Math.abs(m[i++]!)) if (m[i]! < 0) at.set(off, -m[i]!);
    if (c === this.p.static) {
      const e = at.get(0);
      if (e === undefined || e < this.p.geom.staticSize) fail('PcpuAreasMatchModel', `the static area is no longer allocated in ${c.name}.map: [${m.join(', ')}]`);
      at.delete(0);
    }
    for (const a of mine) {
      const e = at.get(a.off);
      if (e === undefined || e < a.size) {
        fail('PcpuAreasMatchModel', `live ${a.name} (${a.size} bytes at ${a.off}) has no allocated entry of that size in ${c.name}.map: [${m.join(', ')}]`);
      }
      at.delete(a.off);
    }
    for (const [off, e] of at) fail('PcpuAreasMatchModel', `${c.name}.map has ${e} bytes allocated at ${off} that no live area owns: [${m.join(', ')}]`);
  }

  /** Every chunk on exactly the slot list pcpu_chunk_slot() names. */
  private slots(fail: (invariant: InvariantName, detail: string, w?: Partial<Witness>) => void): void {
    const p = this.p;
    const seen = new Map<PcpuChunk, number>();
    p.slot.forEach((head, s) => {
      let n = 0;
      for (let pos = head.next; pos !== head; pos = pos.next) {
        if (++n > p.chunks.size + 1 || pos.chunk === null) {
          fail('PcpuChunkInSlot', `pcpu_slot[${s}] is not a list of chunks (reaches ${pos.name})`);
          return;
        }
        if (!p.chunks.has(pos.chunk)) fail('PcpuChunkInSlot', `freed ${pos.chunk.name} is still on pcpu_slot[${s}]`);
        if (seen.has(pos.chunk)) fail('PcpuChunkInSlot', `${pos.chunk.name} is on pcpu_slot[${seen.get(pos.chunk)}] and pcpu_slot[${s}]`);
        seen.set(pos.chunk, s);
      }
    });
    for (const c of p.chunks) {
      const want = pcpuChunkSlot(c);
      const s = seen.get(c);
      if (s !== want) {
        fail('PcpuChunkInSlot', `${c.name} (free_size ${c.free_size}, contig_hint ${c.contig_hint}) is on ${s === undefined ? 'no slot list' : `pcpu_slot[${s}]`}, pcpu_chunk_slot() says ${want}`, {
          subjects: [c.name],
          data: { on: s ?? -1, want },
        });
      }
    }
  }
}
