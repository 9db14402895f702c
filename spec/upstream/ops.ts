// The ops table of today's memalloc.c: every function of the family, as the
// others call it. A variant overrides one entry and keeps the rest:
//
//   const broken = { ...upstreamOps, free_bulk: myFreeBulk };
//   init: (k, opts) => upstreamInit(k, opts, broken)
//
// (see spec/policies/bug-upstream-*.ts).
import { irqWorkRaise } from '../memalloc/refill.ts';
import type { UpstreamOps } from './cache.ts';
import {
  check_leaked_objs,
  check_mem_cache,
  bpf_mem_alloc_destroy,
  destroy_mem_alloc,
  drain_mem_cache,
  free_mem_alloc,
  free_mem_alloc_deferred,
  free_mem_alloc_no_barrier,
} from './destroy.ts';
import { bpf_mem_alloc_percpu_init, bpf_mem_alloc_percpu_unit_init, init_refill_work, prefill_mem_cache } from './init.ts';
import { __free_by_rcu, __free_rcu, __free_rcu_tasks_trace, do_call_rcu_ttrace } from './rcu.ts';
import { __alloc, add_obj_to_free_list, alloc_bulk, bpf_mem_refill, check_free_by_rcu, enque_to_free, free_all, free_bulk } from './refill.ts';
import {
  bpf_mem_alloc,
  bpf_mem_cache_alloc,
  bpf_mem_cache_alloc_flags,
  bpf_mem_cache_free,
  bpf_mem_cache_free_rcu,
  bpf_mem_cache_raw_free,
  bpf_mem_free,
  bpf_mem_free_rcu,
  dec_active,
  inc_active,
  unit_alloc,
  unit_free,
  unit_free_rcu,
} from './unit.ts';

export const upstreamOps: UpstreamOps = Object.freeze({
  inc_active,
  dec_active,
  unit_alloc,
  unit_free,
  unit_free_rcu,
  bpf_mem_alloc,
  bpf_mem_free,
  bpf_mem_free_rcu,
  bpf_mem_cache_alloc,
  bpf_mem_cache_free,
  bpf_mem_cache_free_rcu,
  bpf_mem_cache_raw_free,
  bpf_mem_cache_alloc_flags,
  __alloc,
  add_obj_to_free_list,
  alloc_bulk,
  free_all,
  enque_to_free,
  free_bulk,
  check_free_by_rcu,
  bpf_mem_refill,
  irq_work_raise: irqWorkRaise, // seed 004's, unchanged
  __free_rcu,
  __free_rcu_tasks_trace,
  do_call_rcu_ttrace,
  __free_by_rcu,
  drain_mem_cache,
  check_mem_cache,
  check_leaked_objs,
  free_mem_alloc_no_barrier,
  free_mem_alloc,
  free_mem_alloc_deferred,
  destroy_mem_alloc,
  bpf_mem_alloc_destroy,
  init_refill_work,
  prefill_mem_cache,
  bpf_mem_alloc_percpu_init,
  bpf_mem_alloc_percpu_unit_init,
});
