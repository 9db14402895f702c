// Bug zoo: free_bulk() sends what it trims to its own CPU's
// free_by_rcu_ttrace instead of c->tgt's, as before upstream's
// 822fb26bdb55 ("add a hint to allocated objects"). With one CPU
// allocating and another freeing, the freeing CPU's _ttrace lists fill
// with objects that only its own alloc_bulk() would take back, and it
// never allocates: the allocating CPU asks slab for new ones each refill,
// and memory piles up until a tasks-trace grace period ends (MemoryBound).
// Every list stays consistent; nothing else is broken.
import { kfunc, type Context } from '../kernel/context.ts';
import { eachSafe, llistDelAll } from '../kernel/llist.ts';
import { plainAdd } from '../kernel/atomic.ts';
import { __llistDelFirst } from '../kernel/llist.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCacheUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const freeBulkToOwnCpu = kfunc('free_bulk', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  let cnt: number;
  do {
    const flags = yield* c.ops.inc_active(x, c);
    const llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
    else cnt = 0;
    yield* c.ops.dec_active(x, c, flags);
    // the bug: enque_to_free(c, llnode), not enque_to_free(tgt, llnode)
    if (llnode) yield* c.ops.enque_to_free(x, c, llnode);
  } while (cnt > ((c.high_watermark + c.low_watermark) >> 1));
  for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_llist_extra))) yield* c.ops.enque_to_free(x, c, llnode);
  yield* c.ops.do_call_rcu_ttrace(x, c);
});

const ops = { ...upstreamOps, free_bulk: freeBulkToOwnCpu };

export const upstreamFreeBulkToOwnCpu = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-free-bulk-to-own-cpu',
  summary: "free_bulk() enqueues to its own CPU's free_by_rcu_ttrace instead of c->tgt's (before 822fb26bdb55): a producer/consumer pair piles memory up",
  findings: undefined,
  bug: {
    invariants: ['MemoryBound'],
    why: 'objects freed on the consuming CPU stay on its _ttrace lists, which only its own refill takes back; the producing CPU allocates new ones from slab',
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
