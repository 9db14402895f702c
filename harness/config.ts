// Checker settings: named configurations of the modelled machine and the
// exploration bounds. Every knob has a flag (harness/cli.ts) and a line in
// the README. Nothing here is read by spec/ except through KernelConfig.
import type { KernelConfig } from '../spec/kernel/kernel.ts';
import type { AllocOptions } from '../spec/policies/policy.ts';

export interface CheckConfig {
  /** the configuration's name, as reported */
  name: string;
  /** --cpus: CPUs of the modelled machine */
  cpus: number;
  /** --size: object size for bpf_mem_cache_alloc (0 = size buckets via bpf_mem_alloc) */
  size: number;
  /** --sizes: sizes programs ask bpf_mem_alloc for when size is 0 */
  allocSizes: number[];
  /** --percpu: per-CPU objects (bpf_mem_alloc_init(ma, size, true)) */
  percpu: boolean;
  /** --preempt-rt: CONFIG_PREEMPT_RT (irq_work in a per-CPU kthread) */
  preemptRt: boolean;
  /** --rcu-trace-implies-rcu-gp: rcu_trace_implies_rcu_gp() returns true */
  rcuTraceImpliesRcuGp: boolean;
  /** --objects: slab pool; kmalloc fails beyond this many live objects */
  objects: number;
  /** --no-nmi: generate no NMI programs */
  nmi: boolean;
  /** --no-faults: inject no kmalloc/percpu failures */
  faults: boolean;
  /** --max-commands: commands per generated run */
  maxCommands: number;
  /** --nesting: task contexts one CPU may stack by preemption */
  maxTaskNesting: number;
  /** --step-limit: steps a context may take to finish before livelock is reported */
  stepLimit: number;
}

/** Fixed-size cache of 8184-byte objects: unit_size 8192, so memalloc.c's
 *  own arithmetic gives low 1, high 3, batch 1, prefill 1 ("8k allocs and
 *  above"): every watermark path is reachable with a small pool. */
export const DEFAULT_CONFIG: CheckConfig = {
  name: 'fixed',
  cpus: 2,
  size: 8184,
  allocSizes: [],
  percpu: false,
  preemptRt: false,
  rcuTraceImpliesRcuGp: false,
  objects: 24,
  nmi: true,
  faults: true,
  maxCommands: 50,
  maxTaskNesting: 2,
  stepLimit: 20_000,
};

/** The configurations `allocspec check` explores by default, and by name. */
export const CONFIGS: Record<string, CheckConfig> = {
  fixed: DEFAULT_CONFIG,
  percpu: { ...DEFAULT_CONFIG, name: 'percpu', size: 8192, percpu: true },
  buckets: { ...DEFAULT_CONFIG, name: 'buckets', size: 0, allocSizes: [1000, 2000, 4000, 1020, 89, 4090], objects: 96 },
  rt: { ...DEFAULT_CONFIG, name: 'rt', preemptRt: true, rcuTraceImpliesRcuGp: true },
  wide: { ...DEFAULT_CONFIG, name: 'wide', cpus: 4, objects: 32, maxCommands: 60 },
  /** per-CPU objects in size buckets (bpf_global_percpu_ma): every bucket's
   *  node is 16 bytes, the percpu unit it carries is what tells them apart */
  'percpu-buckets': { ...DEFAULT_CONFIG, name: 'percpu-buckets', size: 0, percpu: true, allocSizes: [8, 60, 100, 500], objects: 96 },
};
export const DEFAULT_PROFILE = ['fixed', 'percpu', 'buckets', 'rt'];

export function kernelConfig(c: CheckConfig): KernelConfig {
  return {
    cpus: c.cpus,
    preemptRt: c.preemptRt,
    rcuTraceImpliesRcuGp: c.rcuTraceImpliesRcuGp,
    maxObjects: c.objects,
    maxTaskNesting: c.maxTaskNesting,
    stepLimit: c.stepLimit,
  };
}

export function allocOptions(c: CheckConfig): AllocOptions {
  return { size: c.size, percpu: c.percpu };
}
