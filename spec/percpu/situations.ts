// On-demand per-CPU units' coverage situations (seed 000): the verifier's
// (counted by k.saw at their line in spec/percpu/) and two of memalloc.c's
// predicates (spec/memalloc/situations.ts), whose unit_alloc()/unit_free()
// the per-CPU buckets run.
import { irqWorkWhileOtherCpuFrees, nmiInActive } from '../memalloc/situations.ts';
import type { Situation } from '../policies/policy.ts';

export const PERCPU_SITUATIONS: readonly Situation[] = [
  { name: 'percpu-alloc-before-load', text: 'a program ran before its load finished and asked for it' },
  { name: 'percpu-load-waits-for-mutex', text: 'a load found bpf_percpu_ma_lock held by a racing load' },
  { name: 'percpu-ma-set-by-racing-load', text: 'a load saw bpf_global_percpu_ma_set clear, then set under the mutex' },
  { name: 'percpu-unit-already-initialised', text: "bpf_mem_alloc_percpu_unit_init() found the size's unit already set up" },
  irqWorkWhileOtherCpuFrees(['unit_free']),
  nmiInActive('unit_alloc', 'an NMI program enters the allocator while unit_alloc holds active'),
];
