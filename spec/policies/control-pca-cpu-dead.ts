// Control: the SLUB per-CPU array with a CPU-dead callback, as slub.c's
// slub_cpu_dead() flushes a dead CPU's per-CPU slab for every cache: the
// dead CPU's array is emptied from a CPU that is still up
// (per_cpu_ptr(s->cpu_array, cpu), not this_cpu_ptr()). Seed 002 adds none;
// this is the callback a design with the array needs, and the placement
// judge's control: after it ran, the dead CPU holds nothing.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { flushCpuArray } from '../slub/free.ts';
import type { KmemCache } from '../slub/pca.ts';
import { slubPca } from './slub-pca.ts';
import { definePolicy } from './policy.ts';

/** slub_cpu_dead(cpu) for the array: flush per_cpu_ptr(s->cpu_array, cpu) */
export const slubCpuDead = kfunc('slub_cpu_dead', function* (x: Context, s: KmemCache, cpu: number): Gen<void> {
  x.k.touch(x, s, 'cpu_array');
  if (s.cpu_array) yield* flushCpuArray(x, s, cpu);
});

export const pcaCpuDead = definePolicy({
  ...slubPca,
  name: 'control/pca-cpu-dead',
  summary: "slub-pca with slub_cpu_dead() flushing the dead CPU's array",
  control: { of: 'bug/pca-cpu-dead-flushes-own-cpu', why: "the CPU-dead callback that empties the dead CPU's array: DeadCpuHoldsNothing must hold" },
  cpuDead: (x, st, cpu) => slubCpuDead(x, st.s, cpu),
});
