// pcpu_size_to_slot(), pcpu_chunk_slot(), pcpu_chunk_relocate() and
// free_percpu()'s "kill one fully free chunk" path (seed 003).
import { describe, expect, it } from 'vitest';
import { drive } from '../../helpers/boot.ts';
import { pcpuChunkRelocate, pcpuChunkSlot, pcpuSizeToSlot } from '../../../spec/percpu_chunk/chunk.ts';
import { chunkWith, rig } from './helpers.ts';

describe('slots', () => {
  it('pcpu_size_to_slot(): 1-31 share slot 1, then one slot per power of two', () => {
    expect([1, 4, 31, 32, 63, 64, 256, 511, 512].map(pcpuSizeToSlot)).toEqual([1, 1, 1, 2, 2, 3, 5, 5, 6]);
    expect(rig().s.p.nrSlots).toBe(7); // unit 512: slots 0..6
  });

  it('pcpu_chunk_slot(): slot 0 for a chunk that cannot serve an int, by free size or by hint', () => {
    const r = rig();
    const c = chunkWith(r, [-500, 3, -4, 5]);
    expect(pcpuChunkSlot(c)).toBe(1);
    c.contig_hint = 3;
    expect(pcpuChunkSlot(c)).toBe(0);
    c.contig_hint = 8;
    c.free_size = 3;
    expect(pcpuChunkSlot(c)).toBe(0);
  });

  it('pcpu_chunk_relocate(): a chunk moving up goes to the head of its new list, one moving down to the tail', () => {
    const r = rig();
    const p = r.s.p;
    const a = chunkWith(r, [-400, 112]); // slot 3
    const b = chunkWith(r, [-200, 312]); // slot 5
    const c = chunkWith(r, [-412, 100]); // slot 3
    expect(p.slot[3]!.next.chunk).toBe(c);
    // b shrinks into slot 3: tail
    b.free_size = 100;
    drive(pcpuChunkRelocate(r.x, p, b, 5));
    expect(p.slot[3]!.prev.chunk).toBe(b);
    // a grows into slot 5: head
    a.free_size = 300;
    drive(pcpuChunkRelocate(r.x, p, a, 4));
    expect(p.slot[5]!.next.chunk).toBe(a);
  });

  it('free_percpu() kills one other fully free chunk when a chunk becomes fully free, and keeps that one', () => {
    const r = rig();
    const p = r.s.p;
    const a = r.alloc(512, 32)!; // the static chunk cannot hold it: chunk1
    const b = r.alloc(512, 32)!; // chunk2
    const ca = r.s.areas.get(a)!.chunk;
    const cb = r.s.areas.get(b)!.chunk;
    expect(ca).not.toBe(cb);
    r.free(a);
    expect(ca.freed).toBe(false); // the only fully free chunk stays as a spare
    r.free(b);
    expect(ca.freed).toBe(true); // killed: depopulated, unlinked, freed
    expect(cb.freed).toBe(false);
    expect(p.chunks.has(ca)).toBe(false);
    expect(ca.page.every((pg) => pg === null)).toBe(true);
    expect(r.audit()).toEqual([]);
  });
});
