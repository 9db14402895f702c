// Bug zoo: check_free_by_rcu() moves free_llist_extra_rcu (objects an NMI
// program bpf_mem_free_rcu()'d while 'active' was taken) onto free_by_rcu
// without setting free_by_rcu_tail, as if only unit_free_rcu() kept the
// tail. When free_by_rcu was empty, the tail still names an object of an
// earlier batch, and __free_by_rcu() splices the new batch with
// llist_add_batch(first, stale tail): it rewrites the next pointer of an
// object that is elsewhere now, and the batch's real end is cut off from
// what the target's free_by_rcu_ttrace held. Programs here free with
// bpf_mem_cache_free_rcu(), as bpf_cpumask_release() does.
import { kfunc, type Context } from '../kernel/context.ts';
import { __llistAdd, eachSafe, llistDelAll, llistEmpty } from '../kernel/llist.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCacheUp } from '../upstream/cache.ts';
import { check_free_by_rcu } from '../upstream/refill.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const checkFreeByRcuKeepingTail = kfunc('check_free_by_rcu', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  if (!(yield* llistEmpty(x, c.free_llist_extra_rcu))) {
    const flags = yield* c.ops.inc_active(x, c);
    // the bug: `if (__llist_add(...)) c->free_by_rcu_tail = llnode;` lost its if
    for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_llist_extra_rcu))) yield* __llistAdd(x, llnode, c.free_by_rcu);
    yield* c.ops.dec_active(x, c, flags);
  }
  // the rest is upstream's: free_llist_extra_rcu is empty now
  yield* check_free_by_rcu(x, c);
});

const ops = { ...upstreamOps, check_free_by_rcu: checkFreeByRcuKeepingTail };

export const upstreamExtraRcuKeepsStaleTail = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-extra-rcu-keeps-stale-tail',
  summary: 'check_free_by_rcu() drains free_llist_extra_rcu without setting free_by_rcu_tail',
  bug: {
    invariants: ['NoKernelWarn', 'Conservation', 'NeverOnTwoLists', 'FreeCntMatchesList', 'NoLeakAtTeardown'],
    why: "__free_by_rcu() splices a batch with the tail of no batch (NULL: an oops) or of an earlier one, whose next it rewrites wherever that object is now",
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
  free: bpfMaUpstream.freeRcu!,
});
