// The RFC's REUSE_AFTER_RCU_GP / FREE_AFTER_RCU_GP flavours (seed 001), as
// scenarios for `allocspec prove` (spec/policies/scenario.ts). Data only.
import type { Scenario } from '../policies/scenario.ts';

export const REUSE_SCENARIOS: readonly Scenario[] = [
  {
    name: 'nmi-free-in-unit-free',
    window: "unit_free() vs an NMI's unit_free() on the same CPU: the 'active' check, free_llist_extra",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }]],
    nmi: [{ cpu: 0, op: 'free', obj: 'b' }],
  },
  {
    name: 'reuse-after-gp',
    window: 'frees on two CPUs go through prepare_reuse, a batch and its RCU callback before an alloc may reuse them',
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'free', obj: 'a' }, { op: 'alloc', as: 'c' }], [{ op: 'alloc', as: 'b' }, { op: 'free', obj: 'b' }]],
  },
  {
    name: 'teardown-vs-reuse-cb',
    window: 'the teardown drains the reuse lists while bpf_ma_reuse_cb() or the kworker of a batch is in flight (abort_reuse)',
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
    name: 'hotplug-kworker',
    window: "cpu1's frees queue its reuse work; cpu1 goes offline and the kworker runs on cpu0 (queue_work on an offline CPU)",
    cpus: [
      [{ op: 'alloc', as: 'e' }],
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
    offline: true,
  },
];
