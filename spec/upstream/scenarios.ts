// Upstream memalloc.c's windows (bpf-ma-upstream), as scenarios for
// `allocspec prove` (spec/policies/scenario.ts). Data only.
import type { Scenario } from '../policies/scenario.ts';

export const UPSTREAM_SCENARIOS: readonly Scenario[] = [
  {
    name: 'nmi-free-in-unit-free',
    window: "unit_free() vs an NMI's unit_free() on the same CPU: the 'active' check, free_llist_extra",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }]],
    nmi: [{ cpu: 0, op: 'free', obj: 'b' }],
  },
  {
    name: 'nmi-alloc-in-refill',
    window: "unit_alloc() and its irq_work refill (alloc_bulk() reusing the _ttrace lists) vs an NMI's unit_alloc() on the same CPU",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }]],
    nmi: [{ cpu: 0, op: 'alloc' }],
  },
  {
    name: 'nmi-free-rcu-in-unit-alloc',
    window: "an NMI's bpf_mem_free_rcu() on the CPU whose unit_alloc() it interrupts: free_by_rcu, free_llist_extra_rcu and their tails, then the grace period and __free_by_rcu()",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }]],
    nmi: [{ cpu: 0, op: 'free_rcu', obj: 'a' }],
  },
  {
    name: 'free-rcu-vs-gp',
    window: 'bpf_mem_free_rcu() on cpu1 of an object cpu0 looks up, then an alloc on cpu1: free_by_rcu, the grace periods, __free_by_rcu and no reuse before them',
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'lookup', obj: 'a' }, { op: 'alloc', as: 'b' }], [{ op: 'free_rcu', obj: 'a' }, { op: 'alloc', as: 'c' }]],
  },
  {
    name: 'cross-cpu-free-to-tgt',
    window: "frees on cpu1 of cpu0's objects: free_bulk() sends them back to the cache that allocated them (c->tgt), racing cpu0",
    cpus: [
      [{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'alloc', as: 'c' }, { op: 'alloc', as: 'd' }],
      [{ op: 'free', obj: 'a' }, { op: 'free', obj: 'b' }, { op: 'free', obj: 'c' }, { op: 'free', obj: 'd' }],
    ],
  },
  {
    name: 'teardown-vs-cross-cpu-refill',
    window: "the teardown drains cpu0's cache while cpu1's irq_work may still send objects to it through c->tgt",
    cpus: [
      [{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'alloc', as: 'c' }, { op: 'alloc', as: 'd' }],
      [{ op: 'free', obj: 'a' }, { op: 'free', obj: 'b' }, { op: 'free', obj: 'c' }, { op: 'free', obj: 'd' }],
    ],
    teardown: true,
  },
  {
    name: 'teardown-vs-free-by-rcu',
    window: "the teardown drains cpu0's cache while __free_by_rcu() for cpu1's bpf_mem_free_rcu() of cpu0's object is in flight (c->tgt)",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }], [{ op: 'free_rcu', obj: 'a' }]],
    teardown: true,
  },
  {
    name: 'hotplug',
    window: 'the last CPU goes offline while both CPUs allocate and free: what its cache holds stays there until the teardown',
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'free', obj: 'a' }], [{ op: 'alloc', as: 'b' }, { op: 'free', obj: 'b' }]],
    offline: true,
    teardown: true,
  },
];
