// Bug zoo (NoSleepInAtomic): __alloc() with GFP_KERNEL instead of
// GFP_NOWAIT. alloc_bulk() runs from irq_work, in hardirq: it must not
// sleep in the page allocator.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

const allocGfpKernel = kfunc('__alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  return yield* x.k.slab.kmalloc(x, c.unit_size, 'GFP_KERNEL'); // the bug: was GFP_NOWAIT
});

export const allocGfpKernelBug = definePolicy({
  ...bpfMa,
  name: 'bug/alloc-gfp-kernel',
  summary: '__alloc() allocates with GFP_KERNEL from the irq_work refill',
  bug: { invariants: ['NoSleepInAtomic'], why: 'alloc_bulk() runs in hardirq (irq_work): a GFP_KERNEL allocation may sleep there' },
  init: withOps({ __alloc: allocGfpKernel }),
});
