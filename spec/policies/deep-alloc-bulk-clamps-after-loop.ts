// Deep benchmark subject (long-loop class; not in the zoo, see
// bench/deep.ts): bpf_mem_refill()'s alloc_bulk() as memalloc.c has it,
// followed by `c->free_cnt = min(c->free_cnt, c->high_watermark)` outside
// the active section (a clamp that never changes anything when run alone:
// a refill starts below low_watermark and adds one batch). An NMI
// allocation or free on the same CPU between the clamp's load and store is
// lost (FreeCntMatchesList). The window is the two steps after the whole
// loop: with batch 48 and no fault or exhausted slab cutting the loop
// short, some 300 steps into the refill.
import { load, store } from '../kernel/atomic.ts';
import type { Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { allocBulk } from '../memalloc/refill.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

function* allocBulkThenClamp(x: Context, c: BpfMemCache, cnt: number): Gen<void> {
  yield* allocBulk(x, c, cnt);
  // the mistake: a plain read-modify-write of free_cnt outside `active`
  const v = yield* load(x, c.free_cnt);
  yield* store(x, c.free_cnt, Math.min(v, c.high_watermark));
}

export const deepAllocBulkClampsAfterLoop = definePolicy({
  ...bpfMa,
  name: 'deep/alloc-bulk-clamps-after-loop',
  summary: 'alloc_bulk() followed by a free_cnt clamp outside active: an NMI (or, on RT, a task) in the two steps after a long refill loop',
  bug: {
    invariants: ['FreeCntMatchesList'],
    why: 'an NMI (or a preempting task on PREEMPT_RT) that changes free_cnt between the clamp load and store is lost',
    config: 'buckets',
  },
  init: withOps({ alloc_bulk: allocBulkThenClamp }),
});

// `allocspec prove --policy spec/policies/deep-alloc-bulk-clamps-after-loop.ts` (not a built-in: a file)
export default deepAllocBulkClampsAfterLoop;
