// Bug zoo (RefillProgress): unit_alloc() that raises the refill only when
// it took an object. Once a refill fails (a GFP_NOWAIT kmalloc failure),
// the empty cache never asks again: every later allocation fails with slab
// memory free.
import { localDec, localIncReturn, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistDelFirst } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

const unitAllocRefillingAfterPop = kfunc('unit_alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  let llnode: Obj | null = null;
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
  }
  yield* localDec(x, c.active);
  yield* localIrqRestore(x, flags);
  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');
  if (llnode && cnt < c.low_watermark) yield* c.ops.irq_work_raise(x, c); // the bug: `llnode &&`
  return llnode;
});

export const unitAllocRefillsOnlyAfterPop = definePolicy({
  ...bpfMa,
  name: 'bug/unit-alloc-refills-only-after-pop',
  summary: 'unit_alloc() raises the refill only when it took an object',
  bug: { invariants: ['RefillProgress'], why: 'after one failed refill an empty cache is never refilled again' },
  init: withOps({ unit_alloc: unitAllocRefillingAfterPop }),
});
