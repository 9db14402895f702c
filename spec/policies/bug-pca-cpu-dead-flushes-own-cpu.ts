// Bug zoo: the CPU-dead callback flushes this_cpu_ptr(s->cpu_array), the
// array of the CPU it runs on, instead of per_cpu_ptr(s->cpu_array, cpu).
// Every list stays consistent and destroy later empties every array, so
// nothing leaks: the dead CPU just keeps its objects where no program will
// ever take them (DeadCpuHoldsNothing, judged when the callback returns).
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { flushCpuArray } from '../slub/free.ts';
import type { KmemCache } from '../slub/pca.ts';
import { pcaCpuDead } from './control-pca-cpu-dead.ts';
import { definePolicy } from './policy.ts';

const cpuDeadFlushesOwn = kfunc('slub_cpu_dead', function* (x: Context, s: KmemCache, _cpu: number): Gen<void> {
  x.k.touch(x, s, 'cpu_array');
  // the bug: this_cpu_ptr(), the CPU running the callback
  if (s.cpu_array) yield* flushCpuArray(x, s, x.cpu);
});

export const pcaCpuDeadFlushesOwnCpu = definePolicy({
  ...pcaCpuDead,
  name: 'bug/pca-cpu-dead-flushes-own-cpu',
  summary: "slub_cpu_dead() flushes the array of the CPU it runs on, not the dead CPU's",
  control: undefined,
  bug: { invariants: ['DeadCpuHoldsNothing'], why: "the dead CPU's array keeps its objects after the callback; destroy empties it later, so nothing leaks" },
  cpuDead: (x, st, cpu) => cpuDeadFlushesOwn(x, st.s, cpu),
});
