// Control: memalloc.c with upstream's order in unit_alloc()/unit_free()
// (commits 62cf51cb0ebe and 566f6de3cea3, "Enable IRQ after irq_work_raise()
// completes"): the refill is claimed and queued with IRQs still off, so no
// task can preempt between the two and the irq_work runs at the restore.
// Seed 004's known finding NoAllocFailureWhileRefillStalled must be gone.
import { localDec, localIncReturn, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, __llistDelFirst, llistAdd } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

export const unitAllocRaiseFirst = kfunc('unit_alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  let llnode: Obj | null = null;
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
  }
  yield* localDec(x, c.active);
  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');
  if (cnt < c.low_watermark) yield* c.ops.irq_work_raise(x, c);
  // IRQs back on only once the irq_work is queued
  yield* localIrqRestore(x, flags);
  return llnode;
});

export const unitFreeRaiseFirst = kfunc('unit_free', function* (x: Context, c: BpfMemCache, llnode: Obj): Gen<void> {
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    yield* __llistAdd(x, llnode, c.free_llist);
    cnt = yield* plainAdd(x, c.free_cnt, +1);
  } else {
    yield* llistAdd(x, llnode, c.free_llist_extra);
  }
  yield* localDec(x, c.active);
  if (cnt > c.high_watermark) yield* c.ops.irq_work_raise(x, c);
  yield* localIrqRestore(x, flags);
});

export const bpfMaRaiseBeforeRestore = definePolicy({
  ...bpfMa,
  name: 'control/bpf-ma-raise-before-restore',
  summary: 'memalloc.c with irq_work_raise() before local_irq_restore() in unit_alloc()/unit_free() (upstream order)',
  findings: undefined,
  control: { of: 'bpf-ma', why: "seed 004's NoAllocFailureWhileRefillStalled finding, fixed as upstream did" },
  init: withOps({ unit_alloc: unitAllocRaiseFirst, unit_free: unitFreeRaiseFirst }),
});
