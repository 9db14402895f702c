// memalloc.c entry points for the size-0 percpu allocator (bpf_global_percpu_ma)
// as of seed 000, and its teardown.
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { cancelWorkSync } from '../kernel/workqueue.ts';
import { bpfMemCacheIdx, thisCpuBucket, type BpfMemAlloc } from '../memalloc/cache.ts';
import { bpfMemAllocDestroy } from '../memalloc/destroy.ts';
import { unitAlloc, unitFree } from '../memalloc/unit.ts';
import { unitReady } from './init.ts';
import type { Verifier } from './verifier.ts';

/** bpf_mem_alloc() on a percpu ma. The llist_node is not part of the
 *  user-visible percpu data, so the bucket is bpf_mem_cache_idx(size), the
 *  same index bpf_mem_alloc_percpu_unit_init() set up. */
export const bpfMemAllocPercpu = kfunc('bpf_mem_alloc', function* (x: Context, ma: BpfMemAlloc, size: number): Gen<Obj | null> {
  if (!size) return null;
  const idx = bpfMemCacheIdx(size);
  if (idx < 0) return null;
  // a loaded program's bucket was set up on every CPU before it could run
  WARN_ON_ONCE(x, !unitReady(ma, x.cpu, idx), `unit_alloc() on ${size}-byte bucket of cpu${x.cpu} that bpf_mem_alloc_percpu_unit_init() never set up`);
  return yield* unitAlloc(x, thisCpuBucket(x, ma.caches!, idx));
});

/** bpf_mem_free(): the object's word before the data points at the cache it
 *  came from; its unit_size picks the bucket (ksize() would see only the
 *  16-byte llist_node + pointer). */
export const bpfMemFreePercpu = kfunc('bpf_mem_free', function* (x: Context, ma: BpfMemAlloc, ptr: Obj): Gen<void> {
  const idx = bpfMemCacheIdx(ptr.pptrBytes);
  if (WARN_ON_ONCE(x, idx < 0, 'WARN_ON_ONCE(idx < 0)')) return;
  yield* unitFree(x, thisCpuBucket(x, ma.caches!, idx), ptr);
});

/** Teardown of the global percpu allocator (the kernel never destroys it;
 *  the harness does, to check that nothing leaks): every load finished or
 *  cancelled, then bpf_mem_alloc_destroy(). */
export function* percpuMaDestroy(x: Context, v: Verifier): Gen<void> {
  for (const w of v.loads.values()) yield* cancelWorkSync(x, w);
  yield* bpfMemAllocDestroy(x, v.ma);
}
