// Bug zoo: the RFC's drain_mem_cache() without `c->abort_reuse = true`.
// It empties the reuse lists, but a bpf_ma_reuse_cb() still in flight (or a
// kworker past synchronize_rcu_expedited()) then puts its batch back on
// reuse_ready_head of the drained cache, and free_mem_alloc() frees the
// cache with the objects on it.
import { bpfMaReuseInit } from '../reuse/init.ts';
import { IRQ_ORDER_FINDING } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';
import { reuseAfterRcuGp } from './reuse-after-rcu-gp.ts';

export const drainWithoutAbortReuseBug = definePolicy({
  ...reuseAfterRcuGp,
  // a zoo variant: every violation it shows is the bug, none is excused
  // the RFC's own defects would hide the missing abort_reuse; seed 004's IRQ order stays a known finding
  findings: IRQ_ORDER_FINDING,
  name: 'bug/drain-without-abort-reuse',
  summary: 'reuse-after-rcu-gp whose drain_mem_cache() never sets abort_reuse',
  bug: {
    invariants: ['NoLeakAtTeardown'],
    why: 'a bpf_ma_reuse_cb() in flight at teardown refills the drained reuse_ready_head; the objects are never freed',
  },
  init: (k, opts) =>
    bpfMaReuseInit(k, opts, {
      reuseOps: {
        set_abort_reuse: () => {}, // the bug: drain_mem_cache() leaves c->abort_reuse false
      },
    }),
});
