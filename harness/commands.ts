// The harness's commands: plain data (so fixtures can hold them), a text
// form for traces, and the fast-check arbitraries that generate them.
// Every command names a CPU and a small step budget so that preemption
// points are command arguments that shrink.
import fc from 'fast-check';
import type { FaultKind } from '../spec/kernel/slab.ts';
import type { CheckConfig } from './config.ts';

export type Op = 'alloc' | 'free' | 'lookup';
export type Cmd =
  /** start a BPF program at task level on cpu that does `count` allocs or
   *  frees (frees from owned object #arg on) or one lookup; run `steps`
   *  steps (0: to the end) */
  | { t: 'prog'; cpu: number; op: Op; arg: number; count: number; sleepable: boolean; steps: number }
  /** an NMI on cpu runs a perf-event BPF program to its end */
  | { t: 'nmi'; cpu: number; op: Op; arg: number }
  /** advance whatever runs on top of cpu */
  | { t: 'step'; cpu: number; steps: number }
  /** a pending irq_work runs on cpu (hardirq, or the RT kthread) */
  | { t: 'irq'; cpu: number; steps: number }
  /** a ready RCU callback runs in softirq on cpu */
  | { t: 'softirq'; cpu: number; steps: number }
  /** a kworker runs a pending work item on cpu */
  | { t: 'kworker'; cpu: number; steps: number }
  /** the current grace period of a flavour ends */
  | { t: 'gp'; flavour: 'rcu' | 'rcu_tasks_trace' }
  /** arm one failure of the next kmalloc / __alloc_percpu_gfp /
   *  spin_trylock, or take the last CPU offline (cpu_offline) */
  | { t: 'fault'; kind: FaultKind }
  /** the map is freed: its objects go back, then bpf_mem_alloc_destroy().
   *  Not generated: every run ends with it (Sim.finish) while irq_work,
   *  kworkers and callbacks may be mid-way; fixtures and tests may use it */
  | { t: 'destroy'; cpu: number; steps: number };

export const CMD_KINDS = ['prog', 'nmi', 'step', 'irq', 'softirq', 'kworker', 'gp', 'fault', 'destroy'] as const;

const n = (steps: number): string => (steps === 0 ? 'to end' : `${steps} step${steps === 1 ? '' : 's'}`);

export function cmdText(c: Cmd): string {
  switch (c.t) {
    case 'prog':
      return `prog cpu${c.cpu} ${c.op}${c.count > 1 && c.op !== 'lookup' ? ` x${c.count}` : ''}${c.op === 'alloc' ? '' : ` #${c.arg}`}${c.sleepable ? ' sleepable' : ''}, ${n(c.steps)}`;
    case 'nmi':
      return `nmi cpu${c.cpu} ${c.op}${c.op === 'alloc' ? '' : ` #${c.arg}`}`;
    case 'gp':
      return `gp ${c.flavour}`;
    case 'fault':
      return `fault ${c.kind}`;
    default:
      return `${c.t} cpu${c.cpu}, ${n(c.steps)}`;
  }
}

/** Weighted generators; weights favour the paths where bugs live. */
export function cmdArbitrary(cfg: CheckConfig, faults: readonly FaultKind[]): fc.Arbitrary<Cmd> {
  const cpu = fc.nat(cfg.cpus - 1);
  const steps = fc.nat(6); // 0 = run to the end: the simplest, shrinks to it
  const op = fc.constantFrom<Op>('alloc', 'free', 'lookup');
  const arg = fc.nat(7);
  // up to 4 updates per run: memalloc.c's own prefill assumption
  const count = fc.integer({ min: 1, max: 4 });
  const arbs: fc.WeightedArbitrary<Cmd>[] = [
    { weight: 12, arbitrary: fc.record({ t: fc.constant('prog' as const), cpu, op, arg, count, sleepable: fc.boolean(), steps }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('step' as const), cpu, steps }) },
    { weight: 10, arbitrary: fc.record({ t: fc.constant('irq' as const), cpu, steps }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('softirq' as const), cpu, steps }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('kworker' as const), cpu, steps }) },
    { weight: 8, arbitrary: fc.record({ t: fc.constant('gp' as const), flavour: fc.constantFrom('rcu' as const, 'rcu_tasks_trace' as const) }) },
  ];
  if (cfg.nmi) {
    arbs.push({ weight: 6, arbitrary: fc.record({ t: fc.constant('nmi' as const), cpu, op: fc.constantFrom<Op>('alloc', 'free'), arg }) });
  }
  if (cfg.faults && faults.length) {
    arbs.push({ weight: 2, arbitrary: fc.record({ t: fc.constant('fault' as const), kind: fc.constantFrom(...faults) }) });
  }
  return fc.oneof(...arbs);
}
