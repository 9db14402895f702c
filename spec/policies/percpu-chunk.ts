// Seed 003: Tejun Heo's 2009 dynamic percpu allocator (mm/percpu.c), as
// written: chunks of per-CPU units, a map of signed sizes, contig_hint,
// slot lists, pages populated per CPU on demand, all under pcpu_mutex.
// Callers are task-context syscalls: __alloc_percpu() sleeps.
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { PcpuAreaModel, type LiveArea } from '../../model/percpu_chunk.ts';
import { __allocPercpu, pcpuSetupStatic } from '../percpu_chunk/alloc.ts';
import { Pcpu, type PcpuGeom } from '../percpu_chunk/chunk.ts';
import { freePercpu, pcpuTeardown } from '../percpu_chunk/free.ts';
import { DEFAULT_OPS, type PcpuOps } from '../percpu_chunk/ops.ts';
import { atRest, firesIn, lastIn, subjectsStartWith, type Finding } from './finding.ts';
import { definePolicy, type Policy } from './policy.ts';
import { PCPU_SITUATIONS } from '../percpu_chunk/situations.ts';

export { PCPU_SITUATIONS };
import { PCPU_INVARIANTS } from '../../model/invariants.ts';

export interface PcpuState {
  readonly p: Pcpu;
  readonly model: PcpuAreaModel;
  /** the Obj handed to the harness for each live area */
  readonly areas: WeakMap<Obj, LiveArea>;
  seq: number;
}

/** A small machine: 32-byte pages, so the unit (16 pages) is 512 bytes,
 *  a static area that ends inside its second page, and maps that start
 *  with 4 entries (16 in the seed) so that growth, from kmalloc to
 *  vmalloc, happens within a short run. */
export const SMALL_GEOM: PcpuGeom = { pageSize: 32, staticSize: 40, dflMapAlloc: 4 };

/** The requests programs draw from: tiny, int-sized, odd, page-sized and
 *  unit-sized areas, alignments up to PAGE_SIZE, and the illegal ones
 *  (size 0, above the unit, align above PAGE_SIZE). */
export function pcpuRequests(g: PcpuGeom): { size: number; align: number }[] {
  const page = g.pageSize;
  const unit = page << 4;
  return [
    { size: 1, align: 1 },
    { size: 2, align: 1 },
    { size: 3, align: 2 },
    { size: 4, align: 4 },
    { size: 8, align: 8 },
    { size: 13, align: 1 },
    { size: 24, align: 8 },
    { size: page, align: page },
    { size: page + 1, align: 4 },
    { size: 3 * page - 5, align: 16 },
    { size: unit / 2, align: 8 },
    { size: unit, align: page },
    { size: 0, align: 4 },
    { size: unit + 1, align: 4 },
    { size: 8, align: page * 2 },
  ];
}

export function makePcpu(k: Kernel, geom: PcpuGeom, ops: PcpuOps = DEFAULT_OPS): PcpuState {
  const p = new Pcpu(k, geom, ops);
  pcpuSetupStatic(p);
  const model = new PcpuAreaModel(p);
  k.audited.push(model);
  return { p, model, areas: new WeakMap(), seq: 0 };
}

/** __alloc_percpu(size, align): the area as an Obj, checked on return. */
export function* pcpuAllocObj(x: Context, s: PcpuState, size: number, align: number): Gen<Obj | null> {
  const a = yield* __allocPercpu(x, s.p, size, align);
  if (!a) return null;
  const obj = new Obj(s.seq++, size);
  const area: LiveArea = { name: obj.name, chunk: a.chunk, off: a.off, size, align };
  s.model.allocated(x, obj, area);
  s.areas.set(obj, area);
  return obj;
}

export function* pcpuFreeObj(x: Context, s: PcpuState, obj: Obj): Gen<void> {
  const a = s.areas.get(obj);
  if (!a) throw new Error(`percpu-chunk: ${obj.name} is not an area of this allocator`);
  s.model.freed(obj);
  s.areas.delete(obj);
  obj.state = 'slab';
  yield* freePercpu(x, s.p, a.chunk.addr + a.off);
}

/** What the harness finds in seed 003's code as written (docs/seed-findings.md). */
export const PCPU_KNOWN: readonly Finding[] = [
  {
    name: 'populate-error-frees-live-pages',
    invariant: 'PcpuLiveAreaPopulated',
    signature: "a live area (or the kernel's static area) sits on a page whose pointer was last touched by pcpu_depopulate_chunk() on pcpu_populate_chunk()'s err: path (it depopulates the whole range, pages other areas sit on included)",
    last: true,
    match: (w) => lastIn(w, 'pcpu_populate_chunk') && lastIn(w, 'pcpu_depopulate_chunk'),
  },
  {
    name: 'static-page-repopulated-never-freed',
    invariant: 'NoLeakAtTeardown',
    signature: "only pages of the static chunk are never freed at teardown (the populate error path freed one under the static area; a later call populated it again)",
    match: (w) => subjectsStartWith(w, 'chunk_static:'),
  },
  {
    name: 'slot-walk-follows-relocated-chunk',
    invariant: 'PcpuSlotWalk',
    signature: "__alloc_percpu()'s list_for_each_entry() over a pcpu_slot[] list leaves the list (pcpu_alloc_area()'s -ENOSPC path relocated the chunk it stood on)",
    match: (w) => firesIn(w, '__alloc_percpu'),
  },
  {
    name: 'head-merge-then-split-fails',
    invariant: 'PcpuChunkInSlot',
    signature: "a chunk sits on a slot above the one pcpu_chunk_slot() names: its free size shrank without pcpu_chunk_relocate() (a head merged into the block before, then pcpu_split_block() failed and pcpu_alloc_area() returned -ENOMEM)",
    match: (w) => atRest(w) && typeof w.data.on === 'number' && typeof w.data.want === 'number' && w.data.on > w.data.want,
  },
];

export const PCPU_FINDINGS: NonNullable<Policy<PcpuState>['findings']> = {
  known: PCPU_KNOWN,
  why:
    "pcpu_populate_chunk()'s error path frees every page of the range, also pages other live areas (or the static area) sit on (a static page it freed and a later call populated again is never freed: NoLeakAtTeardown); " +
    "pcpu_alloc_area()'s -ENOSPC path relocates the chunk __alloc_percpu() is walking a slot list on; " +
    'a head merged into the block before it changes free_size without pcpu_chunk_relocate() when pcpu_split_block() then fails',
  doc: 'docs/seed-findings.md#seed-003-the-percpu-chunk-allocator',
};

/** The policy for a geometry and a set of ops (variants override ops; they
 *  keep the faithful code's findings, minus what the variant is about). */
export function percpuChunkPolicy(over: { name: string; summary: string; geom?: PcpuGeom; ops?: Partial<PcpuOps> } & Partial<Policy<PcpuState>>): Policy<PcpuState> {
  const geom = over.geom ?? SMALL_GEOM;
  const ops = { ...DEFAULT_OPS, ...over.ops };
  const { geom: _g, ops: _o, ...rest } = over;
  return definePolicy<PcpuState>({
    faults: ['page', 'kmalloc', 'vmap'],
    promises: PCPU_INVARIANTS,
    // __alloc_percpu() sleeps on pcpu_mutex: its callers are syscalls
    callers: 'syscall',
    percpuObjects: true,
    situations: PCPU_SITUATIONS,
    requests: pcpuRequests(geom),
    init: (k) => makePcpu(k, geom, ops),
    alloc: (x, s, size, align) => pcpuAllocObj(x, s, size, align ?? 8),
    free: (x, s, obj) => pcpuFreeObj(x, s, obj),
    destroy: (x, s) => pcpuTeardown(x, s.p),
    ...(rest.bug ? { findings: PCPU_FINDINGS } : {}),
    ...rest,
  });
}

export const percpuChunk = percpuChunkPolicy({
  name: 'percpu-chunk',
  summary: 'mm/percpu.c (seed 003): chunk maps, contig_hint, slot lists, per-CPU pages populated on demand, under pcpu_mutex',
  findings: PCPU_FINDINGS,
});
