// Test helpers: a kernel, a context to run spec functions sequentially,
// and a driver that runs a generator to its end.
import { Kernel, type KernelConfig } from '../../spec/kernel/kernel.ts';
import type { Context } from '../../spec/kernel/context.ts';
import type { Level, Gen } from '../../spec/kernel/types.ts';
import { runToEnd } from '../../spec/kernel/sched.ts';
import { invokeCallback } from '../../spec/kernel/rcupdate.ts';

export function kernel(over: Partial<KernelConfig> = {}): Kernel {
  return new Kernel({ cpus: 2, preemptRt: false, rcuTraceImpliesRcuGp: false, maxObjects: 1000, maxTaskNesting: 2, stepLimit: 20_000, ...over });
}

/** A context on cpu that is not on the CPU's stack: for sequential tests. */
export function ctx(k: Kernel, cpu = 0, level: Level = 'task', label = 'test'): Context {
  return k.context(cpu, level, label);
}

/** Run a spec generator to its end, counting its steps. */
export function drive<T>(g: Gen<T>): { value: T; steps: string[] } {
  const steps: string[] = [];
  for (;;) {
    const r = g.next();
    if (r.done) return { value: r.value, steps };
    steps.push(r.value);
  }
}
export { runToEnd };

/** End every grace period that can end and run every ready callback. */
export function runCallbacks(k: Kernel): string[] {
  const ran: string[] = [];
  for (let again = true; again; ) {
    again = false;
    for (const f of ['rcu_tasks_trace', 'rcu'] as const) {
      if (k.rcu.canEndGp(f)) {
        k.rcu.endGp(f);
        again = true;
      }
    }
    for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
      for (let cb = k.rcu.takeReady(cpu); cb; cb = k.rcu.takeReady(cpu)) {
        ran.push(cb.name);
        const y = ctx(k, cpu, 'softirq');
        const g = invokeCallback(y, cb);
        for (;;) {
          const r = g.next();
          // a kernel counting situations reads each step (test/helpers/situations.ts)
          if (k.situations !== null) {
            k.steps++;
            y.nsteps++;
            k.onStep?.(y);
          }
          if (r.done) break;
        }
        again = true;
      }
    }
  }
  return ran;
}
