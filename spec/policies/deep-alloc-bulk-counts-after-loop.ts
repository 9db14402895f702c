// Deep benchmark subject (long-loop class; not in the zoo, see
// bench/deep.ts): alloc_bulk() that links each object into free_llist
// under `active` as memalloc.c does, but counts them once, after the loop,
// with `c->free_cnt += i` outside the active section (one store instead of
// cnt). Correct while nothing touches free_cnt in that two-step window; an
// NMI allocation or free on the same CPU between its load and its store is
// lost. With batch 1 the window is a few steps into the irq_work; in a
// bucket of batch 48 it is some 300 steps in, after the whole loop (and a
// burst of NMI allocations inside the loop, while free_cnt lags the list,
// can drive free_cnt below zero).
import { localDec, localIncReturn, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, __llistDelFirst } from '../kernel/llist.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

const allocBulkCountsAfterLoop = kfunc('alloc_bulk', function* (x: Context, c: BpfMemCache, cnt: number): Gen<void> {
  const rt = x.k.cfg.preemptRt;
  let i = 0;
  for (; i < cnt; i++) {
    let obj = yield* __llistDelFirst(x, c.free_by_rcu);
    if (!obj) {
      obj = yield* c.ops.__alloc(x, c);
      if (!obj) break;
    }
    let flags = false;
    if (rt) flags = localIrqSave(x);
    WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
    yield* __llistAdd(x, obj, c.free_llist);
    yield* localDec(x, c.active);
    if (rt) yield* localIrqRestore(x, flags);
  }
  // the mistake: one update for the whole batch, outside the active section
  if (i) yield* plainAdd(x, c.free_cnt, i);
});

export const deepAllocBulkCountsAfterLoop = definePolicy({
  ...bpfMa,
  name: 'deep/alloc-bulk-counts-after-loop',
  summary: 'alloc_bulk() adding the batch to free_cnt once after the loop, outside active: an NMI in the last two steps of a long refill',
  bug: {
    invariants: ['FreeCntMatchesList', 'NoKernelWarn', 'Conservation'],
    why: 'an NMI unit_alloc()/unit_free() between the load and the store of the final free_cnt += i is lost',
    config: 'buckets',
  },
  init: withOps({ alloc_bulk: allocBulkCountsAfterLoop }),
});
