// percpu.c (seed 003): struct pcpu_chunk, the pcpu_slot[] lists, the
// chunk address tree, pcpu_size_to_slot(), pcpu_chunk_slot(),
// pcpu_chunk_relocate(). Memory is data: a map of signed sizes, a page
// pointer per (cpu, page) and the kmalloc'd/vmalloc'd buffers they live in.
import { report } from '../kernel/events.ts';
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { mightSleep } from '../kernel/might_sleep.ts';
import { Mutex } from '../kernel/mutex.ts';
import type { FaultKind } from '../kernel/slab.ts';
import { shared, type Gen, type Owner } from '../kernel/types.ts';
import type { PcpuOps } from './ops.ts';

export const SIZEOF_INT = 4;
/** also the largest allocation __alloc_percpu() accepts, in pages */
export const PCPU_MIN_UNIT_PAGES_SHIFT = 4;
/** sizes 1-31 share slot 1 */
export const PCPU_SLOT_BASE_SHIFT = 5;
export const PCPU_DFL_MAP_ALLOC = 16;

/** Checker-chosen geometry (the kernel's comes from the arch and the
 *  kernel image): PAGE_SIZE and the static area's size. */
export interface PcpuGeom {
  pageSize: number;
  staticSize: number;
  /** PCPU_DFL_MAP_ALLOC: 16 in the seed; a checker may start maps
   *  smaller so that short runs reach pcpu_split_block()'s growth */
  dflMapAlloc?: number;
}

/** Something kmalloc'd, vmalloc'd or page-allocated that must be freed:
 *  a struct pcpu_chunk, a map buffer, a vm area, one page. */
export class Mem implements Owner {
  freed = false;
  constructor(readonly name: string) {}
}

/** The map buffer pcpu_realloc() hands out: int entries, and how it was
 *  allocated (kfree or vfree must match). */
export class MapBuf extends Mem {
  constructor(
    name: string,
    readonly ents: number[],
    readonly vmalloced: boolean,
  ) {
    super(name);
  }
}

/** struct list_head: circular, so a walk that leaves its list is visible. */
export class ListHead {
  next: ListHead = this;
  prev: ListHead = this;
  constructor(
    /** the chunk this node is embedded in; null for a pcpu_slot[] head */
    readonly chunk: PcpuChunk | null,
    readonly name: string,
  ) {}
}

export function listDel(e: ListHead): void {
  e.prev.next = e.next;
  e.next.prev = e.prev;
  e.next = e.prev = e;
}
export function listAdd(e: ListHead, head: ListHead): void {
  e.next = head.next;
  e.prev = head;
  head.next.prev = e;
  head.next = e;
}
export function listAddTail(e: ListHead, head: ListHead): void {
  listAdd(e, head.prev);
}

/** struct pcpu_chunk */
export class PcpuChunk implements Owner {
  freed = false;
  readonly list: ListHead;
  free_size = 0;
  contig_hint = 0;
  vm: Mem | null = null;
  /** chunk->vm->addr: where its units start (unit u at addr + u * unit size) */
  addr = 0;
  map_used = 0;
  map_alloc = 0;
  map: MapBuf | null = null;
  /** page[cpu * unit pages + i]: NULL, or the page backing it */
  readonly page: (Mem | null)[];
  /** mapped[i]: page i is mapped in chunk->vm on every CPU (pcpu_map()
   *  since the last pcpu_unmap() over it); not a field of the kernel's
   *  struct: its page tables */
  readonly mapped: boolean[];
  constructor(
    readonly name: string,
    nrPages: number,
    /** kzalloc'd (dynamic) or bootmem (the static first chunk) */
    readonly struct: Mem | null,
  ) {
    this.list = new ListHead(this, name);
    this.page = new Array<Mem | null>(nrPages).fill(null);
    this.mapped = new Array<boolean>(nrPages).fill(false);
  }
}

/** percpu.c's globals: the geometry pcpu_setup_static() derives, pcpu_slot[],
 *  the address tree, pcpu_mutex. */
export class Pcpu implements Owner {
  readonly name = 'percpu';
  freed = false;
  readonly unitPages: number;
  readonly unitSize: number;
  readonly nrSlots: number;
  readonly slot: ListHead[];
  /** the rb tree keyed by chunk->vm->addr */
  readonly addrTree = new Map<number, PcpuChunk>();
  readonly mutex = new Mutex(this, 'pcpu_mutex');
  /** every chunk not yet freed, for the audits */
  readonly chunks = new Set<PcpuChunk>();
  static: PcpuChunk | null = null;
  chunkSeq = 0;
  /** counts toward NoLeakAtTeardown (off when serving another policy) */
  track = true;
  constructor(
    readonly k: Kernel,
    readonly geom: PcpuGeom,
    public ops: PcpuOps,
  ) {
    // pcpu_setup_static(): the unit grows from 16 pages until the static area fits
    let shift = PCPU_MIN_UNIT_PAGES_SHIFT;
    while (1 << shift < Math.ceil(geom.staticSize / geom.pageSize)) shift++;
    this.unitPages = 1 << shift;
    this.unitSize = this.unitPages * geom.pageSize;
    this.nrSlots = pcpuSizeToSlot(this.unitSize) + 1;
    this.slot = Array.from({ length: this.nrSlots }, (_, i) => new ListHead(null, `pcpu_slot[${i}]`));
  }
  /** PCPU_DFL_MAP_ALLOC of this geometry */
  get dflMapAlloc(): number {
    return this.geom.dflMapAlloc ?? PCPU_DFL_MAP_ALLOC;
  }
  get cpus(): number {
    return this.k.cfg.cpus;
  }
  /** pcpu_chunk_pagep(chunk, cpu, i) as an index */
  pagep(cpu: number, i: number): number {
    return cpu * this.unitPages + i;
  }
  /** an allocation of the kernel's own that the teardown check must see freed */
  keep(m: Mem): void {
    if (this.track) this.k.slab.structs.add(m);
  }
  drop(x: Context, m: Mem, what: string): void {
    if (m.freed) report('warn', `${x.fn} ${what}(${m.name}) twice (double free)`);
    m.freed = true;
    this.k.slab.structs.delete(m);
  }
}

/** fls(): the 1-based index of the highest bit set */
export function fls(v: number): number {
  return v <= 0 ? 0 : 32 - Math.clz32(v);
}

/** percpu.c: pcpu_size_to_slot(). Elided in the seed; inferred from
 *  PCPU_SLOT_BASE_SHIFT's comment ("1-31 shares the same slot"): one slot
 *  per power of two from 32 up. */
export function pcpuSizeToSlot(size: number): number {
  return Math.max(fls(size) - PCPU_SLOT_BASE_SHIFT + 1, 1);
}

/** percpu.c: pcpu_chunk_slot(): slot 0 holds chunks that cannot serve even an int */
export function pcpuChunkSlot(c: PcpuChunk): number {
  if (c.free_size < SIZEOF_INT || c.contig_hint < SIZEOF_INT) return 0;
  return pcpuSizeToSlot(c.free_size);
}

/** A value a step computed that no structure keeps afterwards, stamped
 *  with the context and the kernel step that computed it. */
export interface Computed {
  /** the context (not its id: ids start again with every kernel) */
  x: object | null;
  step: number;
}

/** What the chunk allocator's steps computed, for the coverage predicates
 *  (spec/percpu_chunk/situations.ts): whether an allocation succeeded, how
 *  pcpu_alloc_area() fitted an area (the sign of the block a head smaller
 *  than an int joined, a tail smaller than an int kept), whether
 *  updateHint() had only a partial scan, what pcpu_free_area() merged with,
 *  whether pcpu_populate_chunk() found an occupied page. Per process, as
 *  the llist_cmpxchg clock. */
export const computed = shared('pcpuComputed', () => ({
  alloc: { x: null, step: -1, ok: false } as Computed & { ok: boolean },
  fit: { x: null, step: -1, headJoined: 0, tailKept: false } as Computed & { headJoined: number; tailKept: boolean },
  partialScan: { x: null, step: -1 } as Computed,
  merge: { x: null, step: -1, prev: false } as Computed & { prev: boolean },
  /** per context: its pcpu_populate_chunk() met an occupied page */
  sharedPage: new WeakSet<object>(),
  /** per context: how often its __alloc_percpu() was asked for 0 bytes
   *  and returned with no step of its own */
  sizeZero: new WeakMap<object, number>(),
  /** how many contexts of sizeZeroOf's kernel sizeZero holds (a WeakMap
   *  has no size) */
  sizeZeroPending: 0,
  sizeZeroOf: null as Kernel | null,
}));

/** Stamp r as computed by x's step being taken. */
export function stampStep(r: Computed, x: Context): void {
  r.x = x;
  r.step = x.k.steps + 1;
}

/** Was r computed by the step x just took? */
export function thisStep(r: Computed, x: object, k: { steps: number }): boolean {
  return r.x === x && r.step === k.steps;
}

/** A GFP_KERNEL allocation of the allocator's own (kzalloc, vmalloc,
 *  get_vm_area, alloc_pages_node): may sleep, may fail by an armed fault. */
export function* gfpKernel(x: Context, p: Pcpu, what: string, fault: FaultKind, name: string): Gen<Mem | null> {
  mightSleep(x, what);
  const m = x.k.slab.fails(fault) ? null : new Mem(name);
  if (m) p.keep(m);
  stampStep(computed.alloc, x);
  computed.alloc.ok = m !== null;
  x.touched = 'slab';
  yield `${what} = ${m ? name : 'NULL'}`;
  return m;
}

/** percpu.c: pcpu_chunk_relocate(): lower slots go to the head, higher to the tail. */
export function* pcpuChunkRelocate(x: Context, p: Pcpu, c: PcpuChunk, oslot: number): Gen<void> {
  const nslot = pcpuChunkSlot(c);
  if (oslot !== nslot) {
    listDel(c.list);
    if (oslot < nslot) listAdd(c.list, p.slot[nslot]!);
    else listAddTail(c.list, p.slot[nslot]!);
    x.touched = `pcpu_slot[${nslot}]`;
    yield `pcpu_chunk_relocate(${c.name}): slot ${oslot} -> ${nslot}`;
  }
}

/** percpu.c: pcpu_chunk_addr_insert() */
export function pcpuChunkAddrInsert(p: Pcpu, c: PcpuChunk): void {
  p.addrTree.set(c.addr, c);
}

/** percpu.c: pcpu_chunk_addr_search(): the chunk whose units hold addr */
export function pcpuChunkAddrSearch(p: Pcpu, addr: number): PcpuChunk | undefined {
  for (const [base, c] of p.addrTree) if (addr >= base && addr < base + p.unitSize * p.cpus) return c;
  return undefined;
}
