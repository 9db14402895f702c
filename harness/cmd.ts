// Commands as data: what a fixture, a shrinker and every strategy hold (a
// generated run is a list of these), and what generation may draw from for
// one policy under one configuration. The command table (harness/
// commands.ts) says how each kind is generated, shown and run.
import type { FaultKind } from '../spec/kernel/slab.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { CheckConfig } from './config.ts';

export type Op = 'alloc' | 'free' | 'free_rcu' | 'lookup';
export const OPS: readonly Op[] = ['alloc', 'free', 'free_rcu', 'lookup'];

export type Cmd =
  /** start a BPF program at task level on cpu that does `count` allocs or
   *  frees (frees from owned object #arg on) or one lookup; then `steps`
   *  steps of that CPU (0: until the program ends). A lookup with `hold`
   *  keeps the object longer before it reads it: a sleepable program
   *  sleeps `hold` ticks (one a command) inside its tasks-trace section, a
   *  program that may not sleep does `hold` more steps of work; absent
   *  (the simplest value, what fixtures before it hold): looked up, read.
   *  With `from` (the exhaustive alphabet's letters), object #arg counts
   *  only the objects programs on CPU `from` allocated, oldest first;
   *  absent (generated commands, fixtures before it): every owned object */
  | { t: 'prog'; cpu: number; op: Op; arg: number; count: number; sleepable: boolean; steps: number; hold?: number; from?: number }
  /** an NMI on cpu runs a perf-event BPF program to its end, or, with
   *  `steps` (a step-level schedule: allocspec prove), runs that many steps
   *  of it; later `step` commands of that CPU go on with it. Absent (the
   *  simplest value, what fixtures before it hold): to its end. `from` as
   *  for prog */
  | { t: 'nmi'; cpu: number; op: Op; arg: number; steps?: number; from?: number }
  /** `n` times: one step of cpu, then an NMI program there (interrupts
   *  landing on consecutive steps of one operation) */
  | { t: 'burst'; cpu: number; n: number; op: Op; arg: number }
  /** a producer and a consumer, `n` rounds: a program on cpu allocates
   *  `count` objects, a program on the next CPU frees them (each to its
   *  end, with whatever it raises) */
  | { t: 'handoff'; cpu: number; n: number; count: number }
  /** advance whatever runs on cpu */
  | { t: 'step'; cpu: number; steps: number }
  /** a queued irq_work runs on cpu (hardirq, or the RT kthread) */
  | { t: 'irq'; cpu: number; steps: number }
  /** a ready RCU callback runs in softirq on cpu */
  | { t: 'softirq'; cpu: number; steps: number }
  /** a kworker runs a pending work item on cpu */
  | { t: 'kworker'; cpu: number; steps: number }
  /** the current grace period of a flavour ends */
  | { t: 'gp'; flavour: 'rcu' | 'rcu_tasks_trace' }
  /** arm one failure of the next kmalloc / __alloc_percpu_gfp /
   *  spin_trylock, or take the last CPU offline (or back online) */
  | { t: 'fault'; kind: FaultKind }
  /** the map is freed (programs finish first): its objects go back, then
   *  the policy's destroy, `steps` steps of it on cpu; the rest of the run
   *  interleaves with teardown */
  | { t: 'destroy'; cpu: number; steps: number }
  /** fairness: programs finish, every pending irq_work, kworker, grace
   *  period and callback runs until nothing is left; then the liveness
   *  invariants are judged (FreedObjectsReturnToSlab, RefillProgress) */
  | { t: 'quiesce' };

export type Kind = Cmd['t'];
export type CmdOf<K extends Kind> = Extract<Cmd, { t: K }>;

/** What generation may draw from, for one policy under one configuration. */
export interface GenCtx {
  cfg: CheckConfig;
  faults: readonly FaultKind[];
  /** program operations the policy supports */
  ops: readonly Op[];
  /** the policy's callers are syscalls: no NMI programs */
  syscall?: boolean;
  /** requests the policy draws from (object #arg picks one) */
  nreq?: number;
}

export type Rng = () => number;
/** Fault kinds a run of policy under cfg injects: the policy's, within
 *  the configuration. Pure: callers need not boot a Sim to ask. */
export function faultKinds(policy: Policy<unknown>, cfg: CheckConfig): FaultKind[] {
  if (!cfg.faults) return [];
  const base: FaultKind[] = cfg.percpu ? ['kmalloc', 'percpu', 'cpu_offline'] : ['kmalloc', 'cpu_offline'];
  // a percpu fault only reaches code in a percpu configuration
  const kinds = (policy.faults ?? base).filter((f) => (f !== 'percpu' && f !== 'page') || cfg.percpu || policy.percpuObjects === true);
  return cfg.cpus > 1 ? kinds : kinds.filter((f) => f !== 'cpu_offline');
}

/** What generation may draw from for policy under cfg. */
export function genCtx(policy: Policy<unknown>, cfg: CheckConfig): GenCtx {
  const syscall = policy.callers === 'syscall';
  return {
    cfg,
    faults: faultKinds(policy, cfg),
    ops: OPS.filter((o) => (o !== 'free_rcu' || typeof policy.freeRcu === 'function') && (!syscall || o === 'alloc' || o === 'free')),
    syscall,
    nreq: policy.requests?.length ?? 0,
  };
}

/** A run's GenCtx (harness/sim.ts), made once per policy and configuration (it is read
 *  only: what the policy and the configuration allow). */
const genCtxs = new WeakMap<Policy<unknown>, WeakMap<CheckConfig, GenCtx>>();
export function genCtxOf(policy: Policy<unknown>, cfg: CheckConfig): GenCtx {
  let byCfg = genCtxs.get(policy);
  if (byCfg === undefined) genCtxs.set(policy, (byCfg = new WeakMap()));
  let g = byCfg.get(cfg);
  if (g === undefined) byCfg.set(cfg, (g = Object.freeze(genCtx(policy, cfg))));
  return g;
}
