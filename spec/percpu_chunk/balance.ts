// percpu.c after the 2014 series: pcpu_balance_workfn() (the kworker that
// does what an atomic allocation may not), pcpu_chunk_populated(),
// pcpu_chunk_depopulated(), pcpu_extend_area_map(), pcpu_create_chunk(),
// pcpu_destroy_chunk(), on seed 003's chunks (atomic.ts has the state).
//
// How memalloc's 8192-byte units (2 pages of 4 KiB on each CPU) get room:
// every atomic allocation that leaves fewer than PCPU_EMPTY_POP_PAGES_LOW
// fully free populated pages, and every one that fails, queues this work;
// it populates up to PCPU_EMPTY_POP_PAGES_HIGH pages (all of them after a
// failure) from the first unpopulated run of the first chunk that has one,
// and makes a chunk when no chunk has pages left to populate. A refill that
// found no room fails (pcpu_atomic_alloc_failed); the next one finds the
// pages this work populated.
import { kfunc, type Context } from '../kernel/context.ts';
import { WARN_ON } from '../kernel/bug.ts';
import { mutexLock, mutexUnlock } from '../kernel/mutex.ts';
import { spinLockIrqsave, spinUnlockIrqrestore } from '../kernel/spinlock_rt.ts';
import type { Gen } from '../kernel/types.ts';
import { pcpuRealloc } from './area.ts';
import { pcpuNeedToExtend, pcpuNrEmptyPopPages, PCPU_EMPTY_POP_PAGES_HIGH, type PcpuAtomic } from './atomic.ts';
import { listDel, pcpuChunkAddrInsert, pcpuChunkRelocate, pcpuSizeToSlot, SIZEOF_INT, type PcpuChunk } from './chunk.ts';
import { freePcpuChunk } from './alloc.ts';

/** percpu.c: pcpu_chunk_populated(): under pcpu_lock, after the populate */
export function* pcpuChunkPopulated(x: Context, a: PcpuAtomic, c: PcpuChunk, rs: number, re: number): Gen<void> {
  a.setPopulated(c, rs, re, true); // bitmap_set(chunk->populated, ...); nr_populated, nr_empty_pop_pages +=
  a.observer?.populated(re - rs);
  x.touched = `${c.name}.populated`;
  yield `pcpu_chunk_populated(${c.name}, ${rs}, ${re})`;
}

/** percpu.c: pcpu_chunk_depopulated(): under pcpu_lock */
export function* pcpuChunkDepopulated(x: Context, a: PcpuAtomic, c: PcpuChunk, rs: number, re: number): Gen<void> {
  a.setPopulated(c, rs, re, false);
  x.touched = `${c.name}.populated`;
  yield `pcpu_chunk_depopulated(${c.name}, ${rs}, ${re})`;
}

/** pcpu_balance_workfn()'s populate of [rs, re): pcpu_populate_chunk()
 *  with pcpu_lock dropped, then, only if it succeeded, the pages are
 *  published under pcpu_lock (PcpuAtomicOps.populateRange). */
export function* populateThenMark(x: Context, a: PcpuAtomic, c: PcpuChunk, rs: number, re: number): Gen<boolean> {
  const p = a.p;
  const ps = p.geom.pageSize;
  if (yield* p.ops.populate(x, p, c, rs * ps, (re - rs) * ps)) return false;
  const flags = yield* spinLockIrqsave(x, a.lock);
  yield* pcpuChunkPopulated(x, a, c, rs, re);
  yield* spinUnlockIrqrestore(x, a.lock, flags);
  return true;
}

/** percpu.c: pcpu_extend_area_map(): a bigger map allocated with the
 *  lock dropped, switched in under pcpu_lock, the old one freed after. */
export const pcpuExtendAreaMap = kfunc('pcpu_extend_area_map', function* (x: Context, a: PcpuAtomic, c: PcpuChunk, newAlloc: number): Gen<number> {
  const p = a.p;
  const fresh = yield* pcpuRealloc(x, p, null, 0, newAlloc * SIZEOF_INT, `${c.name}.map@${newAlloc}`); // pcpu_mem_zalloc()
  if (!fresh) return -12;
  const flags = yield* spinLockIrqsave(x, a.lock);
  let old = null;
  let unused = null;
  x.k.touch(x, c, 'map');
  if (newAlloc <= c.map_alloc) unused = fresh;
  else {
    old = c.map!;
    for (let i = 0; i < c.map_alloc; i++) fresh.ents[i] = old.ents[i] ?? 0; // memcpy(new, old, old_size)
    c.map_alloc = newAlloc;
    c.map = fresh;
  }
  x.touched = `${c.name}.map`;
  yield `${c.name}->map = ${c.map!.name}, map_alloc = ${c.map_alloc}`;
  yield* spinUnlockIrqrestore(x, a.lock, flags);
  for (const m of [old, unused]) {
    if (!m) continue;
    p.drop(x, m, m.vmalloced ? 'vfree' : 'kfree'); // pcpu_mem_free()
    yield `pcpu_mem_free(${m.name})`;
  }
  return 0;
});

/** percpu.c: pcpu_destroy_chunk(): seed 003's free_pcpu_chunk() (vm area,
 *  map, struct); its pages were depopulated and it left the lists. */
export const pcpuDestroyChunk = kfunc('pcpu_destroy_chunk', function* (x: Context, a: PcpuAtomic, c: PcpuChunk): Gen<void> {
  yield* freePcpuChunk(x, a.p, c);
});

/** percpu.c: pcpu_create_chunk(): seed 003's alloc_pcpu_chunk(), GFP_KERNEL
 *  under pcpu_alloc_mutex; nothing populated. */
export const pcpuCreateChunk = kfunc('pcpu_create_chunk', function* (x: Context, a: PcpuAtomic): Gen<PcpuChunk | null> {
  const c = yield* a.p.ops.allocChunk(x, a.p);
  if (c) a.setPopulated(c, 0, 0, false);
  return c;
});

/** percpu.c: pcpu_balance_workfn(): under pcpu_alloc_mutex, free every
 *  fully free chunk but one, extend the maps atomic allocations asked for,
 *  then populate pages (making chunks) until enough are free. */
function* balance(x: Context, a: PcpuAtomic): Gen<void> {
  const p = a.p;
  const ps = p.geom.pageSize;
  yield* mutexLock(x, a.allocMutex);

  // reclaim: keep one fully free chunk, free the others
  const toFree: PcpuChunk[] = [];
  let flags = yield* spinLockIrqsave(x, a.lock);
  const freeHead = p.slot[p.nrSlots - 1]!;
  for (let pos = freeHead.next, n = pos.next; pos !== freeHead; pos = n, n = pos.next) {
    const c = pos.chunk!;
    WARN_ON(x, c === p.static, 'WARN_ON(chunk->immutable)');
    if (pos === freeHead.next) continue; // list_first_entry(free_head) stays
    const j = a.mapExtendChunks.indexOf(c);
    if (j >= 0) a.mapExtendChunks.splice(j, 1); // list_del_init(&chunk->map_extend_list)
    listDel(c.list); // list_move(&chunk->list, &to_free)
    p.addrTree.delete(c.addr);
    toFree.push(c);
    x.touched = `pcpu_slot[${p.nrSlots - 1}]`;
    yield `list_move(&${c.name}->list, &to_free)`;
  }
  yield* spinUnlockIrqrestore(x, a.lock, flags);
  for (const c of toFree) {
    // pcpu_for_each_pop_region(chunk, rs, re, 0, pcpu_unit_pages)
    for (let rs = 0; rs < p.unitPages; ) {
      if (!a.isPopulated(c, rs)) {
        rs++;
        continue;
      }
      let re = rs;
      while (re < p.unitPages && a.isPopulated(c, re)) re++;
      yield* p.ops.depopulate(x, p, c, rs * ps, (re - rs) * ps, false);
      flags = yield* spinLockIrqsave(x, a.lock);
      yield* pcpuChunkDepopulated(x, a, c, rs, re);
      yield* spinUnlockIrqrestore(x, a.lock, flags);
      rs = re;
    }
    yield* pcpuDestroyChunk(x, a, c);
  }

  // the maps pcpu_need_to_extend() queued from atomic allocations
  for (;;) {
    let newAlloc = 0;
    flags = yield* spinLockIrqsave(x, a.lock);
    const c = a.mapExtendChunks.shift() ?? null; // list_first_entry_or_null(); list_del_init()
    if (c) newAlloc = yield* pcpuNeedToExtend(x, a, c, false);
    yield* spinUnlockIrqrestore(x, a.lock, flags);
    if (!c) break;
    if (newAlloc) yield* pcpuExtendAreaMap(x, a, c, newAlloc);
  }

  // populate: keep PCPU_EMPTY_POP_PAGES_HIGH free populated pages
  for (let retry = true; retry; ) {
    retry = false;
    let nrToPop: number;
    a.observer?.flagRead();
    if (a.atomicAllocFailed) {
      nrToPop = PCPU_EMPTY_POP_PAGES_HIGH;
      a.atomicAllocFailed = false; // read and cleared without pcpu_lock, as percpu.c does
    } else {
      nrToPop = Math.min(Math.max(PCPU_EMPTY_POP_PAGES_HIGH - pcpuNrEmptyPopPages(a), 0), PCPU_EMPTY_POP_PAGES_HIGH);
    }
    x.touched = 'pcpu_nr_empty_pop_pages';
    yield `nr_to_pop = ${nrToPop}`;
    for (let slot = pcpuSizeToSlot(ps); slot < p.nrSlots && nrToPop; slot++) {
      let chunk: PcpuChunk | null = null;
      flags = yield* spinLockIrqsave(x, a.lock);
      const head = p.slot[slot]!;
      for (let pos = head.next; pos !== head; pos = pos.next) {
        if (p.unitPages - a.nrPopulated(pos.chunk!) > 0) {
          chunk = pos.chunk;
          break;
        }
      }
      x.touched = `pcpu_slot[${slot}]`;
      yield `pcpu_slot[${slot}]: ${chunk ? `${chunk.name} has unpopulated pages` : 'nothing to populate'}`;
      yield* spinUnlockIrqrestore(x, a.lock, flags);
      if (!chunk) continue;
      // chunk stays: only this work frees chunks, under the mutex it holds
      // pcpu_for_each_unpop_region(chunk, rs, re, 0, pcpu_unit_pages)
      for (let rs = 0; rs < p.unitPages && nrToPop; ) {
        if (a.isPopulated(chunk, rs)) {
          rs++;
          continue;
        }
        let re = rs;
        while (re < p.unitPages && !a.isPopulated(chunk, re)) re++;
        const nr = Math.min(re - rs, nrToPop);
        if (yield* a.ops.populateRange(x, a, chunk, rs, rs + nr)) nrToPop -= nr;
        else nrToPop = 0;
        rs = re;
      }
    }
    if (nrToPop) {
      // no chunk has pages left to populate: make one, compute nr_to_pop again
      const chunk = yield* pcpuCreateChunk(x, a);
      if (chunk) {
        flags = yield* spinLockIrqsave(x, a.lock);
        yield* pcpuChunkRelocate(x, p, chunk, -1);
        pcpuChunkAddrInsert(p, chunk);
        yield* spinUnlockIrqrestore(x, a.lock, flags);
        retry = true;
      }
    }
  }
  yield* mutexUnlock(x, a.allocMutex);
  a.observer?.balanced();
}
export const pcpuBalanceWorkfn = kfunc('pcpu_balance_workfn', balance);
