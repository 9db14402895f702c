// memalloc.c's windows (seed 004), as scenarios for `allocspec prove`
// (spec/policies/scenario.ts): each a few programs per CPU whose every
// interleaving, up to the preemption bound, the search runs. Data only.
import type { Scenario } from '../policies/scenario.ts';

export const MEMALLOC_SCENARIOS: readonly Scenario[] = [
  {
    name: 'nmi-free-in-unit-free',
    window: "unit_free() vs an NMI's unit_free() on the same CPU: the 'active' check, free_llist_extra",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }]],
    nmi: [{ cpu: 0, op: 'free', obj: 'b' }],
  },
  {
    name: 'nmi-alloc-in-refill',
    window: "unit_alloc() and its irq_work refill (alloc_bulk) vs an NMI's unit_alloc() on the same CPU",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }]],
    nmi: [{ cpu: 0, op: 'alloc' }],
  },
  {
    name: 'cross-cpu-free',
    window: "a free on cpu1 of cpu0's object while cpu0 allocates and frees: each CPU's cache, free_bulk",
    cpus: [
      [{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'b' }, { op: 'alloc', as: 'c' }],
      [{ op: 'alloc', as: 'd' }, { op: 'free', obj: 'a' }, { op: 'free', obj: 'd' }],
    ],
  },
  {
    name: 'teardown-vs-callbacks',
    window: 'free_bulk() queues __free_rcu_tasks_trace, then __free_rcu; the teardown races the callbacks in flight',
    cpus: [
      [
        { op: 'alloc', as: 'a' },
        { op: 'alloc', as: 'b' },
        { op: 'alloc', as: 'c' },
        { op: 'alloc', as: 'd' },
        { op: 'free', obj: 'a' },
        { op: 'free', obj: 'b' },
        { op: 'free', obj: 'c' },
        { op: 'free', obj: 'd' },
      ],
    ],
    teardown: true,
  },
  {
    name: 'teardown-vs-pending-refill',
    window: "an NMI's allocation on cpu1 raises a refill that has not run when the teardown drains cpu1's cache (irq_work_sync before the drain)",
    cpus: [[{ op: 'alloc', as: 'a' }]],
    nmi: [{ cpu: 1, op: 'alloc' }],
    teardown: true,
  },
  {
    name: 'slab-fails-in-refill',
    window: 'kmalloc fails at any point of the programs and the refills they raise: the refill comes back short, liveness after it',
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }], [{ op: 'alloc', as: 'c' }]],
    inject: ['kmalloc'],
  },
  {
    name: 'free-bulk-vs-gp',
    window: 'four frees cross the high watermark: free_bulk(), __free_rcu_tasks_trace() chaining call_rcu(), __free_rcu(), racing the grace periods; every object back in slab once they all ran',
    cpus: [
      [
        { op: 'alloc', as: 'a' },
        { op: 'alloc', as: 'b' },
        { op: 'alloc', as: 'c' },
        { op: 'alloc', as: 'd' },
        { op: 'free', obj: 'a' },
        { op: 'free', obj: 'b' },
        { op: 'free', obj: 'c' },
        { op: 'free', obj: 'd' },
      ],
    ],
  },
  {
    name: 'sleepable-reader-vs-free-bulk',
    window: "a sleepable program on cpu1 (an RCU tasks trace reader) open while cpu0's frees go through free_bulk(): __free_rcu_tasks_trace() must wait for it before call_rcu()",
    cpus: [
      [
        { op: 'alloc', as: 'a' },
        { op: 'alloc', as: 'b' },
        { op: 'alloc', as: 'c' },
        { op: 'alloc', as: 'd' },
        { op: 'free', obj: 'a' },
        { op: 'free', obj: 'b' },
        { op: 'free', obj: 'c' },
        { op: 'free', obj: 'd' },
      ],
      [{ op: 'alloc', sleepable: true }],
    ],
  },
  {
    name: 'largest-bucket',
    window: 'bpf_mem_alloc() at the upper edge of bpf_mem_cache_idx(): the largest request that fits the 4096 bucket with its header (4088), and one just over it (4090: NULL)',
    config: 'buckets',
    sizes: [4088, 4090],
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', req: 1 }, { op: 'free', obj: 'a' }]],
  },
  {
    name: 'hotplug',
    window: 'the last CPU goes offline while the other allocates: what its cache holds stays there',
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'free', obj: 'a' }], [{ op: 'alloc', as: 'b' }, { op: 'free', obj: 'b' }]],
    offline: true,
    teardown: true,
  },
  {
    name: 'nmi-in-long-refill',
    window: "an NMI's unit_alloc() at any step of a batch-48 alloc_bulk() refill in hardirq (the 128-byte bucket, no fault cuts the loop short)",
    config: 'buckets',
    sizes: [89],
    objects: 200,
    faults: false,
    cpus: [[{ op: 'alloc', as: 'a' }]],
    nmi: [{ cpu: 0, op: 'alloc' }],
  },
];
