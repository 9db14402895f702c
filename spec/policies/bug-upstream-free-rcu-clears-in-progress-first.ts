// Bug zoo: __free_rcu() clears call_rcu_ttrace_in_progress before it frees
// the batch, one line moved up:
//
//   llnode = llist_del_all(&c->waiting_for_gp_ttrace);
//   atomic_set(&c->call_rcu_ttrace_in_progress, 0);   /* was last */
//   free_all(llnode, !!c->percpu_size);
//
// bpf_mem_alloc_destroy() counts the callbacks in flight by these flags:
// once the flag is 0 it may take the no-barrier path and free the caches
// while the callback is still freeing, and free_all() then reads
// c->percpu_size of a freed cache. Every step but that read touches
// nothing of c, so only a tracked read of the field sees it.
import { atomicSet } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { llistDelAll } from '../kernel/llist_cmpxchg.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCacheUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const freeRcuClearsFirst = kfunc('__free_rcu', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  const llnode = yield* llistDelAll(x, c.waiting_for_gp_ttrace);
  yield* atomicSet(x, c.call_rcu_ttrace_in_progress, 0);
  // free_all(llnode, !!c->percpu_size): the argument is read at the call
  // (the model's free_all() takes c and reads it again per object)
  void c.percpu_size;
  yield* c.ops.free_all(x, c, llnode);
});

const ops = { ...upstreamOps, __free_rcu: freeRcuClearsFirst };

export const upstreamFreeRcuClearsInProgressFirst = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-free-rcu-clears-in-progress-first',
  summary: "__free_rcu() clears call_rcu_ttrace_in_progress before free_all(): teardown's no-barrier path frees the cache under the callback",
  findings: undefined,
  bug: {
    invariants: ['NoUseAfterFree', 'TeardownBarriers'],
    why: 'bpf_mem_alloc_destroy() sees no callback in flight and frees the caches; the callback, still in free_all(), reads c->percpu_size of the freed cache',
    config: 'buckets',
    // seeds 1..20 at 5,000 runs: buckets 18 (shrunk <= 11), fixed 17, rt 17
    foundOn: { share: 0.85, why: 'teardown must start while a tasks-trace callback is between clearing the flag and its free_all(): three things lined up in one window' },
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
