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
import { definePolicy, type AllocOptions } from './policy.ts';

export const UPSTREAM_SITUATIONS: Record<string, string> = {
  'nmi-in-active:unit_alloc': 'an NMI program enters the allocator while unit_alloc holds active',
  'nmi-in-active:unit_free': 'an NMI program enters the allocator while unit_free holds active',
  'nmi-in-active:add_obj_to_free_list': 'an NMI program enters the allocator while alloc_bulk (irq_work) holds active',
  'nmi-in-active:free_bulk': 'an NMI program enters the allocator while free_bulk (irq_work) holds active',
  'free-of-other-cpu-object': 'a program frees an object another CPU allocated (c->tgt names another CPU\'s cache)',
  'free_bulk-into-other-cpu-tgt': "free_bulk() sends trimmed objects to another CPU's free_by_rcu_ttrace",
  'alloc_bulk-reuses:free_by_rcu_ttrace': 'alloc_bulk() takes an object back from free_by_rcu_ttrace',
  'alloc_bulk-reuses:waiting_for_gp_ttrace': 'alloc_bulk() takes an object back from waiting_for_gp_ttrace',
  'llist_del_first-raced-other-cpu': "another CPU wrote a _ttrace list between llist_del_first()'s load of head->first and its cmpxchg",
  'free_rcu-into-free_llist_extra_rcu': 'bpf_mem_free_rcu() while active is taken (NMI): free_llist_extra_rcu',
  'check_free_by_rcu-drains-free_llist_extra_rcu': 'check_free_by_rcu() moves free_llist_extra_rcu to free_by_rcu',
  '__free_by_rcu-into-other-cpu-tgt': "__free_by_rcu() hands objects to another CPU's cache after a normal grace period",
  'draining-set-while-callbacks-in-flight': 'bpf_mem_alloc_destroy() sets draining while a cache has callbacks in flight',
  'do_call_rcu_ttrace-draining:in_progress': 'do_call_rcu_ttrace() on a draining cache with a callback in flight frees at once',
  'do_call_rcu_ttrace-draining:free_now': 'do_call_rcu_ttrace() on a draining cache calls __free_rcu() itself',
  'irq-work-while-other-cpu-frees': 'a program frees on one CPU while irq_work runs on another',
  'rcu-callback-racing-free': 'a program frees while an RCU callback runs',
  'grace-period-held-by-reader': 'a grace period could not end because a reader was inside its critical section',
  'teardown-with-callbacks-in-flight': 'teardown starts while RCU callbacks are queued',
};

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
  situations: UPSTREAM_SITUATIONS,
  header: 8,
  // a hand-built interleaving (the search has not reached it): the ABA of
  // llist_del_first() in alloc_bulk() under PREEMPT_RT; see the doc for the
  // two kernel conditions the model does not settle
  findings: {
    invariants: ['Conservation'],
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
