// pcpu_populate_chunk() / pcpu_depopulate_chunk(): pages for every possible
// CPU, page by page; the error path as written (seed 003).
import { describe, expect, it } from 'vitest';
import { drive } from '../../helpers/boot.ts';
import { pcpuDepopulateChunk, pcpuPopulateChunk, pagePopulated } from '../../../spec/percpu_chunk/populate.ts';
import { ENOMEM } from '../../../spec/percpu_chunk/area.ts';
import { chunkWith, failNthPage, rig } from './helpers.ts';

describe('pcpu_populate_chunk()', () => {
  it('allocates [PFN_DOWN(off), PFN_UP(off + size)) on every possible CPU, skipping occupied pages', () => {
    const r = rig(undefined, 3);
    const p = r.s.p;
    const c = chunkWith(r, [512]);
    expect(drive(pcpuPopulateChunk(r.x, p, c, 40, 30)).value).toBe(0); // bytes 40..69: pages 1, 2
    for (let cpu = 0; cpu < 3; cpu++) expect([0, 1, 2, 3].map((i) => pagePopulated(p, c, cpu, i))).toEqual([false, true, true, false]);
    const before = c.page[p.pagep(1, 2)];
    const d = drive(pcpuPopulateChunk(r.x, p, c, 64, 40)); // pages 2 (occupied), 3
    expect(d.value).toBe(0);
    expect(c.page[p.pagep(1, 2)]).toBe(before);
    expect(d.steps.filter((s) => s.startsWith('alloc_pages_node'))).toHaveLength(3);
  });

  it('on failure gives back the whole range, as written: also a page other areas were already on', () => {
    const r = rig();
    const p = r.s.p;
    const c = chunkWith(r, [512]);
    drive(pcpuPopulateChunk(r.x, p, c, 0, 8)); // an earlier area on page 0
    failNthPage(p.k, 2); // page 1: cpu0 succeeds, cpu1 fails
    expect(drive(pcpuPopulateChunk(r.x, p, c, 8, 40)).value).toBe(ENOMEM); // pages 0 (occupied) and 1
    expect(pagePopulated(p, c, 0, 0)).toBe(false); // the earlier area's page is gone
    expect(pagePopulated(p, c, 0, 1)).toBe(false);
    expect(c.page.every((pg) => pg === null)).toBe(true);
  });

  // the 'vmap' fault: pcpu_map() fails (its page tables), before it only a
  // comment; the mid-range map at an occupied page and the final one
  it('a pcpu_map() failure at an occupied page takes the error path: -ENOMEM, the range given back', () => {
    const r = rig();
    const p = r.s.p;
    const c = chunkWith(r, [512]);
    drive(pcpuPopulateChunk(r.x, p, c, 40, 8)); // page 1 occupied
    p.k.slab.armed.vmap = 1;
    const d = drive(pcpuPopulateChunk(r.x, p, c, 0, 100)); // pages 0, 1 (occupied), 2, 3
    expect(d.value).toBe(ENOMEM);
    expect(d.steps).toContain(`pcpu_map(${c.name}, 0, 1) = -ENOMEM`);
    expect(d.steps.filter((s) => s.startsWith('alloc_pages_node'))).toHaveLength(2); // page 0 only, then the error
    expect(c.page.every((pg) => pg === null)).toBe(true);
  });
  it('with no fault armed pcpu_map() succeeds and every page of the range is there (control)', () => {
    const r = rig();
    const p = r.s.p;
    const c = chunkWith(r, [512]);
    drive(pcpuPopulateChunk(r.x, p, c, 40, 8));
    expect(drive(pcpuPopulateChunk(r.x, p, c, 0, 100)).value).toBe(0);
    for (const i of [0, 1, 2, 3]) expect(pagePopulated(p, c, 1, i)).toBe(true);
    expect(c.mapped.slice(0, 5)).toEqual([true, true, true, true, false]);
  });
  it('pcpu_depopulate_chunk() unmaps what it freed; a failed final pcpu_map() leaves its pages unmapped until the error path frees them', () => {
    const r = rig();
    const p = r.s.p;
    const c = chunkWith(r, [512]);
    drive(pcpuPopulateChunk(r.x, p, c, 0, 100));
    drive(pcpuDepopulateChunk(r.x, p, c, 32, 32, false)); // page 1
    expect(c.mapped.slice(0, 4)).toEqual([true, false, true, true]);
    p.k.slab.armed.vmap = 1;
    expect(drive(pcpuPopulateChunk(r.x, p, c, 32, 8)).value).toBe(ENOMEM);
    expect(c.mapped[1]).toBe(false);
  });
});

describe('pcpu_depopulate_chunk()', () => {
  it('frees every page of the range on every CPU and NULLs its pointer', () => {
    const r = rig();
    const p = r.s.p;
    const c = chunkWith(r, [512]);
    drive(pcpuPopulateChunk(r.x, p, c, 0, 100));
    const pages = c.page.filter((pg) => pg !== null);
    expect(pages).toHaveLength(8);
    const d = drive(pcpuDepopulateChunk(r.x, p, c, 0, 100, true));
    expect(pages.every((pg) => pg!.freed && !p.k.slab.structs.has(pg!))).toBe(true);
    expect(c.page.every((pg) => pg === null)).toBe(true);
    expect(d.steps.at(-1)).toBe(`pcpu_unmap(${c.name}, 0, 4, flush)`);
  });
});
