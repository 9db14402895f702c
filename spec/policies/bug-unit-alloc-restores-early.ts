// Bug zoo (a closed window: local_irq_restore() is a step): unit_alloc()
// that re-enables IRQs before it drops `active`. An irq_work queued
// meanwhile (from an NMI, or by a task that preempts at the restore) runs
// alloc_bulk() at the restore while `active` is still held beneath it.
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

/** unit_alloc() with local_irq_restore() moved above local_dec(). */
const unitAllocRestoringEarly = kfunc('unit_alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  let llnode: Obj | null = null;
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
  }
  yield* localIrqRestore(x, flags); // the bug: was after local_dec()
  yield* localDec(x, c.active);
  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');
  if (cnt < c.low_watermark) yield* c.ops.irq_work_raise(x, c);
  return llnode;
});

export const unitAllocRestoresEarly = definePolicy({
  ...bpfMa,
  name: 'bug/unit-alloc-restores-early',
  summary: 'unit_alloc() re-enables IRQs before local_dec(&c->active)',
  bug: {
    invariants: ['NoKernelWarn'],
    why: 'an irq_work pending at the early local_irq_restore() runs alloc_bulk() while active is still held: WARN_ON_ONCE(local_inc_return(&c->active) != 1)',
  },
  init: withOps({ unit_alloc: unitAllocRestoringEarly }),
});
