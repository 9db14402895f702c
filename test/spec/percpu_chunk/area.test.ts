// pcpu_alloc_area() / pcpu_split_block() / pcpu_free_area() against maps
// worked by hand from the C of seed 003 (unit 512 bytes, sizeof(int) 4).
import { describe, expect, it } from 'vitest';
import { drive } from '../../helpers/boot.ts';
import { ENOMEM, ENOSPC, pcpuAllocArea, pcpuFreeArea } from '../../../spec/percpu_chunk/area.ts';
import { chunkWith, rig, used } from './helpers.ts';

describe('pcpu_alloc_area()', () => {
  it('splits off a tail: [512] -> alloc(8, 8) -> [-8, 504], the hint is the tail (fully scanned)', () => {
    const r = rig();
    const c = chunkWith(r, [512]);
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 8, 8)).value).toBe(0);
    expect(used(c)).toEqual([-8, 504]);
    expect(c.free_size).toBe(504);
    expect(c.contig_hint).toBe(504);
  });

  it('splits off a head of at least an int: [-4, 508] -> alloc(8, 16) at 16 -> [-4, 12, -8, 488]', () => {
    const r = rig();
    const c = chunkWith(r, [-4, 508]);
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 8, 16)).value).toBe(16);
    expect(used(c)).toEqual([-4, 12, -8, 488]);
    expect(c.free_size).toBe(500);
    expect(c.contig_hint).toBe(488);
  });

  it('merges a head smaller than an int into the allocated block before it: [-1, 511] -> alloc(4, 4) -> [-4, -4, 504]', () => {
    const r = rig();
    const c = chunkWith(r, [-1, 511]);
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 4, 4)).value).toBe(4);
    expect(used(c)).toEqual([-4, -4, 504]);
    expect(c.free_size).toBe(504); // 511 - 3 (head, now allocated) - 4
  });

  it('merges a head into a free block before it (a branch only a map with adjacent free entries reaches)', () => {
    const r = rig();
    const c = chunkWith(r, [-8, 2, 502]);
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 8, 16)).value).toBe(16);
    expect(used(c)).toEqual([-8, 8, -8, 488]);
    expect(c.free_size).toBe(496);
    // max_contig saw map[1] as 2 before it grew to 8; the tail 488 dominates
    expect(c.contig_hint).toBe(488);
  });

  it('keeps a tail smaller than an int with the area: [-8, 11, -493] -> alloc(8, 1) -> [-8, -11, -493]', () => {
    const r = rig();
    const c = chunkWith(r, [-8, 11, -493]);
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 8, 1)).value).toBe(8);
    expect(used(c)).toEqual([-8, -11, -493]);
    expect(c.free_size).toBe(0);
  });

  it('only raises the hint on a partial scan: [-8, 400, -4, 100] -> alloc(400) leaves contig_hint 400 over a largest free entry of 100', () => {
    const r = rig();
    const c = chunkWith(r, [-8, 400, -4, 100]);
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 400, 1)).value).toBe(8);
    expect(used(c)).toEqual([-8, -400, -4, 100]);
    expect(c.contig_hint).toBe(400); // stale, but still >= every free entry: the promise holds
    expect(r.structural()).toEqual([]);
  });

  it('sets the hint from a full scan on -ENOSPC and moves the chunk: [-8, 3, -4, 497] asked for 500', () => {
    const r = rig();
    const c = chunkWith(r, [-8, 3, -4, 497], 500);
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 500, 1)).value).toBe(ENOSPC);
    expect(c.contig_hint).toBe(497);
    expect(used(c)).toEqual([-8, 3, -4, 497]);
  });

  it('grows a full map through pcpu_realloc(): kmalloc up to PAGE_SIZE, vmalloc above', () => {
    const r = rig();
    const c = chunkWith(r, [-8, -8, -8, 488], undefined, 4);
    const d = drive(pcpuAllocArea(r.x, r.s.p, c, 8, 1));
    expect(d.value).toBe(24);
    expect(c.map_alloc).toBe(8);
    expect(d.steps).toContain(`kmalloc(32) = ${c.name}.map@8`);
    expect(used(c)).toEqual([-8, -8, -8, -8, 480]);
    for (let i = 0; i < 4; i++) drive(pcpuAllocArea(r.x, r.s.p, c, 8, 1));
    expect(c.map_alloc).toBe(16);
    expect(c.map!.vmalloced).toBe(true);
    expect(r.s.p.k.slab.structs.has(c.map!)).toBe(true);
  });

  it('returns -ENOMEM when the map cannot grow, and leaves the map as it was', () => {
    const r = rig();
    const c = chunkWith(r, [-8, -8, -8, 488], undefined, 4);
    r.s.p.k.slab.armed.kmalloc = 1;
    expect(drive(pcpuAllocArea(r.x, r.s.p, c, 8, 1)).value).toBe(ENOMEM);
    expect(used(c)).toEqual([-8, -8, -8, 488]);
    expect(r.structural()).toEqual([]);
  });
});

describe('pcpu_free_area()', () => {
  it('merges with the free blocks on both sides: [-8, 8, -8, 488] free 16 -> [-8, 504]', () => {
    const r = rig();
    const c = chunkWith(r, [-8, 8, -8, 488]);
    drive(pcpuFreeArea(r.x, r.s.p, c, 16));
    expect(used(c)).toEqual([-8, 504]);
    expect(c.free_size).toBe(504);
    expect(c.contig_hint).toBe(504);
  });

  it('keeps allocated neighbours apart: [-8, -8, -8, 488] free 8 -> [-8, 8, -8, 488]', () => {
    const r = rig();
    const c = chunkWith(r, [-8, -8, -8, 488]);
    drive(pcpuFreeArea(r.x, r.s.p, c, 8));
    expect(used(c)).toEqual([-8, 8, -8, 488]);
  });

  it('BUG_ON()s on an offset no area starts at', () => {
    const r = rig();
    const c = chunkWith(r, [-8, 504]);
    expect(() => drive(pcpuFreeArea(r.x, r.s.p, c, 4))).toThrow(/BUG_ON\(off != freeme\)/);
  });
});

describe('the static first chunk', () => {
  it('gets its map on first use: [-static, free]', () => {
    const r = rig();
    const st = r.s.p.static!;
    expect(st.map).toBeNull();
    const o = r.alloc(4, 4);
    expect(r.s.areas.get(o!)!.off).toBe(40);
    expect(used(st)).toEqual([-40, -4, 468]);
    expect(r.audit()).toEqual([]);
  });
});
