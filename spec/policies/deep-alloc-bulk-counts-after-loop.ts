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
import { plainAdd } from '../kernel/atomic.ts';
import type { Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** the mistake, part 1: no `c->free_cnt++` inside the loop */
function* countNothing(): Gen<void> {}

/** part 2: one update for the whole batch, outside the active section */
function* countAfterLoop(x: Context, c: BpfMemCache, i: number): Gen<void> {
  if (i) yield* plainAdd(x, c.free_cnt, i);
}

export const deepAllocBulkCountsAfterLoop = definePolicy({
  ...bpfMa,
  name: 'deep/alloc-bulk-counts-after-loop',
  summary: 'alloc_bulk() adding the batch to free_cnt once after the loop, outside active: an NMI in the last two steps of a long refill',
  bug: {
    invariants: ['FreeCntMatchesList', 'NoKernelWarn', 'Conservation'],
    why: 'an NMI unit_alloc()/unit_free() between the load and the store of the final free_cnt += i is lost',
    config: 'buckets',
  },
  init: withOps({ alloc_bulk_count: countNothing, alloc_bulk_end: countAfterLoop }),
});
