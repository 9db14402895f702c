// memalloc.c: unit_alloc(), unit_free() and the four entry points
// bpf_mem_alloc(), bpf_mem_free(), bpf_mem_cache_alloc(), bpf_mem_cache_free().
import { localIncReturn, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, __llistDelFirst, llistAdd } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { LLIST_NODE_SZ, thisCpuBucket, thisCpuCache, type BpfMemAlloc, type BpfMemCache } from './cache.ts';
import { memallocOps, type MemallocOps } from './ops.ts';

const opsOf = (ma: BpfMemAlloc): MemallocOps => ma.ops ?? memallocOps();

/** unit_alloc(): pop free_llist under IRQs off and the 'active' count. */
export const unitAlloc = kfunc('unit_alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  let llnode: Obj | null = null;
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
  }
  yield* c.ops.unit_alloc_exit(x, c, flags, llnode, cnt); // local_dec(&c->active) to irq_work_raise(c): unitAllocExit()
  return llnode;
});

/** unit_alloc() from local_dec(&c->active) on: leave 'active', IRQs back
 *  on, then the refill. (A seam: a variant may reorder these steps.) */
export function* unitAllocExit(x: Context, c: BpfMemCache, flags: boolean, llnode: Obj | null, cnt: number): Gen<void> {
  yield* c.ops.active_exit(x, c); // local_dec(&c->active)
  yield* localIrqRestore(x, flags);

  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');

  yield* c.ops.unit_alloc_raise(x, c, llnode, cnt); // if (cnt < c->low_watermark) irq_work_raise(c)
}

/** unit_alloc()'s refill check (a seam; llnode is what the pop took). */
export function* unitAllocRaise(x: Context, c: BpfMemCache, _llnode: Obj | null, cnt: number): Gen<void> {
  if (cnt < c.low_watermark) yield* c.ops.irq_work_raise(x, c);
}

/** unit_free(): push free_llist, or free_llist_extra when 'active' is taken
 *  (an NMI program freeing while this CPU is inside the allocator). */
export const unitFree = kfunc('unit_free', function* (x: Context, c: BpfMemCache, llnode: Obj): Gen<void> {
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    yield* __llistAdd(x, llnode, c.free_llist);
    cnt = yield* plainAdd(x, c.free_cnt, +1);
  } else {
    // unit_free() cannot fail: the atomic llist_add, drained by free_bulk()
    yield* llistAdd(x, llnode, c.free_llist_extra);
  }
  yield* c.ops.unit_free_exit(x, c, flags, cnt); // local_dec(&c->active) to irq_work_raise(c): unitFreeExit()
});

/** unit_free() from local_dec(&c->active) on (a seam, as unitAllocExit()). */
export function* unitFreeExit(x: Context, c: BpfMemCache, flags: boolean, cnt: number): Gen<void> {
  yield* c.ops.active_exit(x, c); // local_dec(&c->active)
  yield* localIrqRestore(x, flags);

  yield* c.ops.unit_free_raise(x, c, cnt); // if (cnt > c->high_watermark) irq_work_raise(c)
}

/** unit_free()'s refill check: above high_watermark, free_bulk() is due. */
export function* unitFreeRaise(x: Context, c: BpfMemCache, cnt: number): Gen<void> {
  if (cnt > c.high_watermark) yield* c.ops.irq_work_raise(x, c);
}

/** bpf_mem_alloc(): size buckets (ma->caches). */
export const bpfMemAlloc = kfunc('bpf_mem_alloc', function* (x: Context, ma: BpfMemAlloc, size: number): Gen<Obj | null> {
  if (!size) return null; // ZERO_SIZE_PTR: not an object
  const idx = opsOf(ma).bpf_mem_cache_idx(size + LLIST_NODE_SZ);
  if (idx < 0) return null;
  const c = thisCpuBucket(x, ma.caches!, idx);
  return yield* c.ops.unit_alloc(x, c);
});

/** bpf_mem_free(): the bucket comes from ksize() of the object. */
export const bpfMemFree = kfunc('bpf_mem_free', function* (x: Context, ma: BpfMemAlloc, ptr: Obj): Gen<void> {
  const idx = opsOf(ma).bpf_mem_cache_idx(ptr.size);
  if (idx < 0) return;
  const c = thisCpuBucket(x, ma.caches!, idx);
  yield* c.ops.unit_free(x, c, ptr);
});

/** bpf_mem_cache_alloc(): fixed size (ma->cache). */
export const bpfMemCacheAlloc = kfunc('bpf_mem_cache_alloc', function* (x: Context, ma: BpfMemAlloc): Gen<Obj | null> {
  const c = thisCpuCache(x, ma.cache!);
  return yield* c.ops.unit_alloc(x, c);
});

export const bpfMemCacheFree = kfunc('bpf_mem_cache_free', function* (x: Context, ma: BpfMemAlloc, ptr: Obj): Gen<void> {
  const c = thisCpuCache(x, ma.cache!);
  yield* c.ops.unit_free(x, c, ptr);
});
