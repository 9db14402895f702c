// Bug zoo (NoUseAfterFree): free_mem_alloc_deferred() that kfree()s its
// copy of bpf_mem_alloc before free_mem_alloc() reads the caches from it.
import type { Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import type { MaCopy } from '../memalloc/destroy.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

function* freeMemAllocDeferredFreeingFirst(x: Context, copy: MaCopy): Gen<void> {
  yield* x.k.slab.kfreeAux(x, copy.aux); // the bug: was after free_mem_alloc()
  yield* copy.ops.free_mem_alloc(x, copy);
}

export const deferredFreeFreesCopyFirst = definePolicy({
  ...bpfMa,
  name: 'bug/deferred-free-frees-copy-first',
  summary: 'free_mem_alloc_deferred() frees the copy of bpf_mem_alloc before using it',
  bug: { invariants: ['NoUseAfterFree'], why: 'free_mem_alloc() reads copy->cache after kfree(copy)' },
  init: withOps({ free_mem_alloc_deferred: freeMemAllocDeferredFreeingFirst }),
});
