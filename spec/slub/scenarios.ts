// Seed 002's SLUB per-CPU array windows, as scenarios for `allocspec
// prove` (spec/policies/scenario.ts). Data only. The array holds 4 objects,
// half of it refilled when empty and flushed when full (slub-pca.ts).
import type { Scenario } from '../policies/scenario.ts';

export const SLUB_SCENARIOS: readonly Scenario[] = [
  {
    name: 'nmi-in-array-alloc',
    window: "alloc_from_pca() and its refill under the array's trylock vs an NMI's allocation on the same CPU (the trylock fails: the bypass)",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }]],
    nmi: [{ cpu: 0, op: 'alloc' }],
  },
  {
    name: 'cross-cpu-free',
    window: "cpu1 frees cpu0's objects into its own array (flush when full) while cpu0 allocates from its array",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'alloc', as: 'c' }], [{ op: 'free', obj: 'a' }, { op: 'free', obj: 'b' }]],
  },
  {
    name: 'hotplug',
    window: "cpu1 goes offline (slub_cpu_dead() flushes its array on cpu0) at any point around cpu0's allocation and free and cpu1's allocation",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'free', obj: 'a' }], [{ op: 'alloc', as: 'b' }]],
    offline: true,
  },
  {
    name: 'teardown-vs-deferred-free',
    window: "the cache is destroyed (kmem_cache_destroy() with the arrays) while cpu0's frees wait for their grace periods and callbacks",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }, { op: 'free', obj: 'b' }]],
    teardown: true,
  },
  {
    name: 'trylock-fails-in-free',
    window: "a spin_trylock() of the array fails at any point (as when an interrupt holds it): slab_free() must fall back to slab with the object",
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'b' }]],
    inject: ['trylock'],
  },
  {
    name: 'trylock-fails-in-refill',
    window: 'a spin_trylock() of the array fails at any point of two allocations, a free and a third allocation: refill_pca() must give back the batch it holds',
    cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }, { op: 'alloc', as: 'c' }]],
    inject: ['trylock'],
  },
  {
    name: 'slab-fails-under-nmi-bulk',
    window: "kmalloc fails at any point while an NMI's kmem_cache_alloc_bulk() takes part of its batch from the array",
    cpus: [[{ op: 'alloc', as: 'a' }]],
    nmi: [{ cpu: 0, op: 'alloc' }],
    inject: ['kmalloc'],
  },
];
