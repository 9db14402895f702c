// kernel/bpf/memalloc.c as upstream has it today (gregkh/linux
// 23c39b8659ce): per-object cache hint and c->tgt, bpf_mem_free_rcu(), the
// _ttrace lists reused by alloc_bulk(), draining, check_leaked_objs(),
// bpf_mem_cache_alloc_flags(), on-demand per-CPU units. The functions live
// in spec/upstream/, one file per family; the policy calls them through the
// ops table, so a variant swaps one function (spec/policies/bug-upstream-*).
import type { Kernel } from '../kernel/kernel.ts';
import { runToEnd } from '../kernel/sched.ts';
import { NUM_CACHES, SIZES } from '../memalloc/cache.ts';
import { BpfMemAllocUp, type UpstreamOps } from '../upstream/cache.ts';
import { bpf_mem_alloc_init } from '../upstream/init.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { UPSTREAM_SITUATIONS } from '../upstream/situations.ts';
import { UPSTREAM_SCENARIOS } from '../upstream/scenarios.ts';
import { definePolicy, type AllocOptions } from './policy.ts';
import { atRest, touches } from './finding.ts';

export { UPSTREAM_SITUATIONS };


/** Boot: bpf_mem_alloc_init(), or, for per-CPU objects of any size
 *  (bpf_global_percpu_ma), bpf_mem_alloc_percpu_init() and one
 *  bpf_mem_alloc_percpu_unit_init() per bucket, as the verifier does for
 *  each size a loaded program uses. */
export function upstreamInit(k: Kernel, opts: AllocOptions, ops: UpstreamOps = upstreamOps): BpfMemAllocUp {
  const ma = new BpfMemAllocUp(ops);
  if (opts.percpu && opts.size === 0) {
    const x = k.context(0, 'task', 'boot');
    if (runToEnd(ops.bpf_mem_alloc_percpu_init(x, ma))) throw new Error('bpf_mem_alloc_percpu_init failed at boot');
    for (let i = 0; i < NUM_CACHES; i++) runToEnd(ops.bpf_mem_alloc_percpu_unit_init(x, ma, SIZES[i]!));
    return ma;
  }
  if (bpf_mem_alloc_init(k, ma, opts.size, opts.percpu)) throw new Error('bpf_mem_alloc_init: -EINVAL');
  return ma;
}

export const bpfMaUpstream = definePolicy<BpfMemAllocUp>({
  name: 'bpf-ma-upstream',
  summary: 'kernel/bpf/memalloc.c today: cache hint and tgt, bpf_mem_free_rcu, _ttrace reuse, draining, leak checks, on-demand percpu',
  // every shared field sits behind a primitive or a fields.ts accessor
  footprints: 'exact',
  situations: UPSTREAM_SITUATIONS,
  scenarios: UPSTREAM_SCENARIOS,
  header: 8,
  // a hand-built interleaving (the search has not reached it): the ABA of
  // llist_del_first() in alloc_bulk() under PREEMPT_RT; see the doc for the
  // two kernel conditions the model does not settle
  findings: {
    known: [
      {
        name: 'alloc-bulk-aba-on-waiting-for-gp-ttrace',
        invariant: 'Conservation',
        signature: 'at rest, an object a program owns is still on a waiting_for_gp_ttrace list (the ABA of llist_del_first() in a preempted RT alloc_bulk())',
        match: (w) => atRest(w) && touches(w, 'waiting_for_gp_ttrace'),
      },
    ],
    configs: ['rt'],
    why: "alloc_bulk()'s llist_del_first(&c->waiting_for_gp_ttrace) in a preempted RT irq_work kthread races __free_rcu()'s llist_del_all(): the same addresses come back through kmalloc and the cmpxchg puts an object a program owns at the head of the list",
    doc: 'docs/upstream.md#the-aba-in-alloc_bulk',
  },
  init: (k, opts) => upstreamInit(k, opts),
  // sleepable programs may sleep: bpf_mem_cache_alloc_flags(GFP_KERNEL), as bpf_local_storage does
  alloc: (x, ma, size) =>
    ma.cache ? (x.sleepable ? ma.ops.bpf_mem_cache_alloc_flags(x, ma, 'GFP_KERNEL') : ma.ops.bpf_mem_cache_alloc(x, ma)) : ma.ops.bpf_mem_alloc(x, ma, size),
  free: (x, ma, obj) => (ma.cache ? ma.ops.bpf_mem_cache_free(x, ma, obj) : ma.ops.bpf_mem_free(x, ma, obj)),
  freeRcu: (x, ma, obj) => (ma.cache ? ma.ops.bpf_mem_cache_free_rcu(x, ma, obj) : ma.ops.bpf_mem_free_rcu(x, ma, obj)),
  destroy: (x, ma) => ma.ops.bpf_mem_alloc_destroy(x, ma),
});
