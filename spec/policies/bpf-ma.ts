// The baseline: kernel/bpf/memalloc.c as in seed 004.
import type { BpfMemAlloc } from '../memalloc/cache.ts';
import { bpfMemAllocDestroy } from '../memalloc/destroy.ts';
import { bpfMemAllocInit } from '../memalloc/init.ts';
import { bpfMemAlloc, bpfMemCacheAlloc, bpfMemCacheFree, bpfMemFree } from '../memalloc/unit.ts';
import { definePolicy } from './policy.ts';

export const bpfMa = definePolicy<BpfMemAlloc>({
  name: 'bpf-ma',
  summary: 'kernel/bpf/memalloc.c (seed 004): per-CPU caches, free_llist_extra, irq_work refill, RCU freeing',
  init: (k, opts) => bpfMemAllocInit(k, opts),
  alloc: (x, ma, size) => (ma.cache ? bpfMemCacheAlloc(x, ma) : bpfMemAlloc(x, ma, size)),
  free: (x, ma, obj) => (ma.cache ? bpfMemCacheFree(x, ma, obj) : bpfMemFree(x, ma, obj)),
  destroy: (x, ma) => bpfMemAllocDestroy(x, ma),
});
