// Bug zoo (RefillProgress): unit_alloc() that raises the refill only when
// it took an object. Once a refill fails (a GFP_NOWAIT kmalloc failure),
// the empty cache never asks again: every later allocation fails with slab
// memory free.
import type { Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** unit_alloc()'s refill check (spec/memalloc/unit.ts: unitAllocRaise()) with `llnode &&`. */
function* unitAllocRaiseOnlyAfterPop(x: Context, c: BpfMemCache, llnode: Obj | null, cnt: number): Gen<void> {
  if (llnode && cnt < c.low_watermark) yield* c.ops.irq_work_raise(x, c); // the bug: `llnode &&`
}

export const unitAllocRefillsOnlyAfterPop = definePolicy({
  ...bpfMa,
  name: 'bug/unit-alloc-refills-only-after-pop',
  summary: 'unit_alloc() raises the refill only when it took an object',
  bug: { invariants: ['RefillProgress'], why: 'after one failed refill an empty cache is never refilled again' },
  init: withOps({ unit_alloc_raise: unitAllocRaiseOnlyAfterPop }),
});
