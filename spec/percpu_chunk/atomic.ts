// percpu.c after Tejun Heo's 2014 series behind __alloc_percpu_gfp() (3.18;
// the map-extension list of 4f996e234dad, 2016), ported onto seed 003's
// chunk map: pcpu_lock, chunk->populated, pcpu_nr_empty_pop_pages,
// pcpu_need_to_extend(), pcpu_alloc()'s is_atomic path, free_percpu(),
// pcpu_schedule_balance_work() (the fit on populated pages: pop_only.ts).
// Today's pcpu_alloc_noprof()/free_percpu() keep the same locking.
//
// Only the GFP_NOWAIT half of pcpu_alloc() is here: memalloc.c (seed 004)
// asks for every percpu unit with GFP_NOWAIT, so the GFP_KERNEL half
// (pcpu_alloc_mutex, chunk creation, populate, all from the caller) is
// never reached; the balance work (balance.ts) does those things.
import { kfunc, type Context } from '../kernel/context.ts';
import { report } from '../kernel/events.ts';
import { use } from '../kernel/fields.ts';
import { Mutex } from '../kernel/mutex.ts';
import { RawSpinlock } from '../kernel/spinlock.ts';
import { spinLockIrqsave, spinUnlockIrqrestore } from '../kernel/spinlock_rt.ts';
import { placeOf, type Gen } from '../kernel/types.ts';
import { queueWork, Work } from '../kernel/workqueue.ts';
import type { PcpuArea } from './alloc.ts';
import { pcpuBalanceWorkfn, populateThenMark } from './balance.ts';
import { MapBuf, Mem, PCPU_MIN_UNIT_PAGES_SHIFT, pcpuChunkAddrSearch, pcpuSizeToSlot, type Pcpu, type PcpuChunk } from './chunk.ts';
import { pcpuAllocAreaPopOnly } from './pop_only.ts';

/** percpu.c: the balance work keeps this many fully free populated pages */
export const PCPU_EMPTY_POP_PAGES_LOW = 2;
export const PCPU_EMPTY_POP_PAGES_HIGH = 4;
/** percpu.c: map entries an atomic allocation wants spare (below LOW it
 *  asks the balance work to extend the map to HIGH) */
export const PCPU_ATOMIC_MAP_MARGIN_LOW = 32;
export const PCPU_ATOMIC_MAP_MARGIN_HIGH = 64;

/** The seams of the 2014 locking a variant may override. */
export interface PcpuAtomicOps {
  /** pcpu_balance_workfn(): populate pages [rs, re) of c and publish them
   *  in chunk->populated; false when the populate failed */
  populateRange(x: Context, a: PcpuAtomic, c: PcpuChunk, rs: number, re: number): Gen<boolean>;
}

export const ATOMIC_OPS: PcpuAtomicOps = { populateRange: (x, a, c, rs, re) => populateThenMark(x, a, c, rs, re) };

/** Told what the pool does, for its liveness judge (model/percpu_atomic.ts):
 *  an atomic allocation failed, the balance work read the failure flag,
 *  published pages, returned. */
export interface PcpuPoolObserver {
  failed(size: number, align: number): void;
  flagRead(): void;
  populated(pages: number): void;
  balanced(): void;
}

/** percpu.c's globals the 2014 series added, next to seed 003's (Pcpu). */
export class PcpuAtomic {
  /** protects the slot lists, the maps, chunk->populated and the counters */
  readonly lock: RawSpinlock;
  /** pcpu_alloc_mutex: chunk creation, population, map extension */
  readonly allocMutex: Mutex;
  readonly balanceWork: Work;
  /** pcpu_atomic_alloc_failed (use() it: accessAtomicFailed) */
  private failed = false;
  /** the pool's liveness judge, if any */
  observer: PcpuPoolObserver | null = null;
  /** pcpu_map_extend_chunks, in list order */
  readonly mapExtendChunks: PcpuChunk[] = [];
  /** chunk->populated: one bit per page index (every CPU's page or none);
   *  a Map, not a WeakMap, so the exhaustive mode's state key sees it */
  private readonly populated = new Map<PcpuChunk, boolean[]>();
  constructor(
    readonly p: Pcpu,
    public ops: PcpuAtomicOps = ATOMIC_OPS,
  ) {
    this.lock = new RawSpinlock(p, 'pcpu_lock', 'spinlock_t');
    this.allocMutex = new Mutex(p, 'pcpu_alloc_mutex');
    this.balanceWork = new Work(p, 'pcpu_balance_work', (y) => pcpuBalanceWorkfn(y, this), 'pcpu_balance_workfn');
  }
  get atomicAllocFailed(): boolean {
    use(this.p, 'pcpu_atomic_alloc_failed');
    return this.failed;
  }
  set atomicAllocFailed(v: boolean) {
    use(this.p, 'pcpu_atomic_alloc_failed', true);
    this.failed = v;
  }
  /** test_bit(i, chunk->populated) */
  isPopulated(c: PcpuChunk, i: number): boolean {
    use(c, 'populated');
    return this.populated.get(c)?.[i] ?? false;
  }
  /** bitmap_set()/bitmap_clear() of chunk->populated */
  setPopulated(c: PcpuChunk, rs: number, re: number, v: boolean): void {
    use(c, 'populated', true);
    let bits = this.populated.get(c);
    if (!bits) this.populated.set(c, (bits = new Array<boolean>(this.p.unitPages).fill(false)));
    for (let i = rs; i < re; i++) bits[i] = v;
  }
  /** chunk->nr_populated */
  nrPopulated(c: PcpuChunk): number {
    use(c, 'nr_populated');
    return (this.populated.get(c) ?? []).filter(Boolean).length;
  }
}

/** percpu.c: pcpu_setup_first_chunk() of 2014: the first chunk is fully
 *  populated at boot (its pages come with the kernel image) and has its
 *  map from the start (smap[]); seed 003's static chunk has only its
 *  static pages and gets a map on first use, which an atomic allocation
 *  could not allocate. */
export function pcpuSetupFirstChunkPopulated(a: PcpuAtomic): void {
  const p = a.p;
  const c = p.static!;
  for (let cpu = 0; cpu < p.cpus; cpu++) {
    for (let i = 0; i < p.unitPages; i++) c.page[p.pagep(cpu, i)] ??= new Mem(`bootmem:cpu${cpu}:p${i}`);
  }
  a.setPopulated(c, 0, p.unitPages, true);
  // and mapped: the first chunk's whole unit is in the kernel's mapping
  // from boot (seed 003 maps only its static pages: alloc.ts)
  for (let i = 0; i < p.unitPages; i++) c.mapped[i] = true;
  const n = Math.max(p.dflMapAlloc, PCPU_ATOMIC_MAP_MARGIN_HIGH);
  const map = new MapBuf(`${c.name}.smap`, new Array<number>(n).fill(0), false);
  map.ents[0] = -p.geom.staticSize;
  c.map_used = 1;
  if (c.free_size) map.ents[c.map_used++] = c.free_size;
  c.map = map;
  c.map_alloc = n;
}

/** pcpu_nr_empty_pop_pages: the kernel keeps it as a counter that
 *  pcpu_alloc_area()/pcpu_free_area() (occ_pages) and
 *  pcpu_chunk_populated()/_depopulated() adjust under pcpu_lock; here it
 *  is counted from what it summarises: the populated pages of the chunks
 *  on the slot lists that no allocated map entry touches. */
export function pcpuNrEmptyPopPages(a: PcpuAtomic): number {
  const p = a.p;
  use(p, 'pcpu_nr_empty_pop_pages');
  const ps = p.geom.pageSize;
  let n = 0;
  for (const head of p.slot) {
    for (let pos = head.next; pos !== head && pos.chunk; pos = pos.next) {
      const c = pos.chunk;
      if (!c.map) continue;
      const busy = new Array<boolean>(p.unitPages).fill(false);
      for (let i = 0, off = 0; i < c.map_used; off += Math.abs(c.map.ents[i++]!)) {
        const e = c.map.ents[i]!;
        if (e < 0) for (let pg = Math.floor(off / ps); pg < Math.ceil((off - e) / ps); pg++) busy[pg] = true;
      }
      for (let i = 0; i < p.unitPages; i++) if (!busy[i] && a.isPopulated(c, i)) n++;
    }
  }
  return n;
}

/** percpu.c: pcpu_schedule_balance_work() (pcpu_async_enabled: bpf
 *  allocators are made after percpu_enable_async()) */
export function* pcpuScheduleBalanceWork(x: Context, a: PcpuAtomic): Gen<void> {
  yield* queueWork(x, a.balanceWork);
}

/** percpu.c: pcpu_need_to_extend(chunk, is_atomic): the map size to grow
 *  to, 0 when it has room. Atomic: 3 spare entries (a split adds at most
 *  two), and below the low margin the chunk goes on pcpu_map_extend_chunks
 *  for the balance work. */
export function* pcpuNeedToExtend(x: Context, a: PcpuAtomic, c: PcpuChunk, isAtomic: boolean): Gen<number> {
  x.k.touch(x, c, 'map_alloc');
  let margin = PCPU_ATOMIC_MAP_MARGIN_HIGH;
  if (isAtomic) {
    margin = 3;
    if (c.map_alloc < c.map_used + PCPU_ATOMIC_MAP_MARGIN_LOW && !a.mapExtendChunks.includes(c)) {
      a.mapExtendChunks.push(c); // list_add_tail(&chunk->map_extend_list, &pcpu_map_extend_chunks)
      x.touched = 'pcpu_map_extend_chunks';
      yield `list_add_tail(&${c.name}->map_extend_list, &pcpu_map_extend_chunks)`;
      yield* pcpuScheduleBalanceWork(x, a);
    }
  }
  if (c.map_alloc >= c.map_used + margin) return 0;
  let newAlloc = a.p.dflMapAlloc;
  while (newAlloc < c.map_used + margin) newAlloc *= 2;
  return newAlloc;
}

/** percpu.c: pcpu_alloc(size, align, reserved = false, GFP_NOWAIT): only
 *  pcpu_lock, only populated pages, no chunk made, nothing populated; a
 *  failure asks the balance work for pages (pcpu_atomic_alloc_failed). */
export const pcpuAllocAtomic = kfunc('pcpu_alloc', function* (x: Context, a: PcpuAtomic, size: number, align: number): Gen<PcpuArea | null> {
  const p = a.p;
  if (!size || size > p.geom.pageSize << PCPU_MIN_UNIT_PAGES_SHIFT || align > p.geom.pageSize) {
    yield `WARN(true, "illegal size (${size}) or align (${align}) for percpu allocation")`;
    return null;
  }
  let found: PcpuArea | null = null;
  const flags = yield* spinLockIrqsave(x, a.lock);
  search: for (let slot = pcpuSizeToSlot(size); slot < p.nrSlots; slot++) {
    const head = p.slot[slot]!;
    for (let pos = head.next, n = pos.next; pos !== head; pos = p.ops.slotWalkSafe ? n : pos.next, n = pos.next) {
      if (pos.chunk === null) {
        report('walk-left-list', `list_for_each_entry over pcpu_slot[${slot}] in pcpu_alloc reached ${pos.name}: pcpu_alloc_area() relocated the chunk it was on mid-walk`, {
          at: placeOf(x),
          subjects: [`pcpu_slot[${slot}]`],
        });
      }
      const c = pos.chunk;
      x.k.touch(x, c, 'contig_hint');
      if (size > c.contig_hint) continue;
      if (yield* pcpuNeedToExtend(x, a, c, true)) continue; // is_atomic: no map growth here
      const off = yield* pcpuAllocAreaPopOnly(x, a, c, size, align);
      if (off >= 0) {
        found = { chunk: c, off };
        break search;
      }
    }
  }
  yield* spinUnlockIrqrestore(x, a.lock, flags);
  if (!found) {
    // fail: the balance work populates HIGH pages when it sees the flag
    a.atomicAllocFailed = true;
    // the pool refused a GFP_NOWAIT request with no fault injected: an
    // exhausted memory source, as slab below its watermark (sheaves/slab.ts)
    x.k.slab.exhausted++;
    a.observer?.failed(size, align);
    x.touched = 'pcpu_atomic_alloc_failed';
    yield 'pcpu_atomic_alloc_failed = true';
    yield* pcpuScheduleBalanceWork(x, a);
    return null;
  }
  // area_found: the pages are there; keep some spare for the next ones
  if (pcpuNrEmptyPopPages(a) < PCPU_EMPTY_POP_PAGES_LOW) yield* pcpuScheduleBalanceWork(x, a);
  x.touched = `${found.chunk.name}.vm`;
  yield `memset(${found.chunk.name} + ${found.off}, 0, ${size}) on every CPU`;
  return found;
});

/** percpu.c: free_percpu(): the area goes back under pcpu_lock with IRQs
 *  off; a second fully free chunk is left to the balance work to reclaim. */
export const freePercpuAtomic = kfunc('free_percpu', function* (x: Context, a: PcpuAtomic, addr: number | null): Gen<void> {
  if (!addr) return; // free_percpu(NULL) is allowed
  const p = a.p;
  const flags = yield* spinLockIrqsave(x, a.lock);
  const chunk = pcpuChunkAddrSearch(p, addr);
  if (!chunk) report('warn', `free_percpu(${addr}): no chunk holds it (pcpu_chunk_addr_search)`);
  yield* p.ops.freeArea(x, p, chunk, addr - chunk.addr);
  // a second fully free chunk: the balance work frees one
  if (chunk.free_size === p.unitSize) {
    const head = p.slot[p.nrSlots - 1]!;
    for (let pos = head.next; pos !== head; pos = pos.next) {
      if (pos.chunk !== chunk) {
        yield* pcpuScheduleBalanceWork(x, a);
        break;
      }
    }
  }
  yield* spinUnlockIrqrestore(x, a.lock, flags);
});
