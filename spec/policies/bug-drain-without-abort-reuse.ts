// Bug zoo: the RFC's drain_mem_cache() without `c->abort_reuse = true`.
// It empties the reuse lists, but a bpf_ma_reuse_cb() still in flight (or a
// kworker past synchronize_rcu_expedited()) then puts its batch back on
// reuse_ready_head of the drained cache, and free_mem_alloc() frees the
// cache with the objects on it.
import { bpfMaReuseInit } from '../reuse/init.ts';
import { definePolicy } from './policy.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';

export const drainWithoutAbortReuseBug = definePolicy({
  ...reuseAfterRcuGp,
  // it keeps every known finding of the RFC, its own leak (the kworker's
  // dropped free_llist_extra nodes, NoLeakAtTeardown) included: the leak of
  // this variant is objects a bpf_ma_reuse_cb() put back on a drained
  // reuse_ready_head, which that finding's signature does not match
  name: 'bug/drain-without-abort-reuse',
  summary: 'reuse-after-rcu-gp whose drain_mem_cache() never sets abort_reuse',
  bug: {
    invariants: ['NoLeakAtTeardown'],
    why: 'a bpf_ma_reuse_cb() in flight at teardown refills the drained reuse_ready_head; the objects are never freed',
    behindFinding: true,
  },
  init: (k, opts) =>
    bpfMaReuseInit(k, opts, {
      reuseOps: {
        set_abort_reuse: () => {}, // the bug: drain_mem_cache() leaves c->abort_reuse false
      },
    }),
});
