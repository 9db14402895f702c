// Every constant of the workload model in one place, each with its value,
// unit and source (a kernel file, or a stated assumption), and what kind
// of time it is:
//
//   cpu    time a CPU spends working (an operation's cost, a context
//          switch): dilated by the scale (see SCALING below)
//   clock  time that passes whatever the CPUs do (grace periods, the
//          tasks-trace kthread's sleep): never dilated
//   count  a number of things (batch limits, sizes)
//
// docs/workload.md prints this table and the ±2× sweep of each constant.
export type Kind = 'cpu' | 'clock' | 'count';

export interface Constant {
  readonly value: number;
  readonly unit: 'ns' | 'bytes' | 'objects' | 'rounds' | 'bits';
  readonly kind: Kind;
  /** where the number comes from */
  readonly source: string;
  /** part of the ±2× sensitivity sweep */
  readonly sweep: boolean;
}

export const CONSTANTS = {
  // ---- the benchmark ----
  opBatch: {
    value: 64,
    unit: 'objects',
    kind: 'count',
    source: 'progs/htab_mem_bench.c: OP_BATCH, the bpf_loop() iterations of one program run',
    sweep: false,
  },
  elemSize: {
    value: 64,
    unit: 'bytes',
    kind: 'count',
    source:
      'kernel/bpf/hashtab.c htab_map_alloc(): elem_size = sizeof(struct htab_elem) (48 on x86-64: hlist_nulls_node 16, the bpf_lru_node union 24, u32 hash, key aligned 8) + round_up(key_size 4, 8) + round_up(value_size 8, 8); bench_htab_mem.c: value_size 8 by default, progs: key_size 4',
    sweep: false,
  },
  pageSize: { value: 4096, unit: 'bytes', kind: 'count', source: 'PAGE_SIZE on x86-64; a kmalloc cache of an order-0 slab holds floor(4096 / ksize) objects a page', sweep: false },
  // ---- CPU costs (dilated) ----
  syscallNs: {
    value: 300,
    unit: 'ns',
    kind: 'cpu',
    source: 'assumption: getpgid()/getppid() round trip with the sys_enter tracepoint dispatching the BPF program, once per program run (a bare x86-64 syscall is 100-300 ns depending on mitigations)',
    sweep: true,
  },
  loopIterNs: { value: 5, unit: 'ns', kind: 'cpu', source: 'assumption: one bpf_loop() callback call (no_op does only this)', sweep: true },
  htabUpdateNs: {
    value: 120,
    unit: 'ns',
    kind: 'cpu',
    source: 'assumption: htab_map_update_elem() outside the allocator: jhash of a 4-byte key, the bucket lock (irqsave), lookup, value copy, relinking',
    sweep: true,
  },
  htabDeleteNs: { value: 80, unit: 'ns', kind: 'cpu', source: 'assumption: htab_map_delete_elem() outside the allocator (hash, bucket lock, lookup, unlink)', sweep: true },
  stepNs: {
    value: 2,
    unit: 'ns',
    kind: 'cpu',
    source: 'assumption: one atomic step of the spec (a load, store, local/atomic op, IRQ flag change: a few cycles at ~3 GHz, cache-hot)',
    sweep: true,
  },
  kmallocNs: { value: 40, unit: 'ns', kind: 'cpu', source: 'assumption: SLUB fast path (per-CPU freelist, this_cpu_cmpxchg), tens of ns', sweep: true },
  kfreeNs: { value: 40, unit: 'ns', kind: 'cpu', source: 'assumption: SLUB kfree() fast path, tens of ns', sweep: true },
  callRcuNs: { value: 30, unit: 'ns', kind: 'cpu', source: "assumption: call_rcu()/call_rcu_tasks_trace() enqueue on the CPU's segmented callback list", sweep: true },
  irqWorkNs: { value: 1000, unit: 'ns', kind: 'cpu', source: 'assumption: irq_work_queue() self-IPI, interrupt entry and exit around the handler', sweep: true },
  softirqNs: { value: 500, unit: 'ns', kind: 'cpu', source: 'assumption: entering and leaving the RCU softirq once per round of callbacks', sweep: true },
  kworkerNs: { value: 3000, unit: 'ns', kind: 'cpu', source: 'assumption: the two context switches around one kworker run', sweep: true },
  wqWakeNs: {
    value: 10_000,
    unit: 'ns',
    kind: 'cpu',
    source: "assumption: from queue_work() on bpf_ma_wq (per-CPU, WQ_MEM_RECLAIM) to its kworker running on a CPU busy with the producer (wake-up preemption)",
    sweep: true,
  },
  barrierWakeNs: {
    value: 10_000,
    unit: 'ns',
    kind: 'cpu',
    source: 'assumption: pthread_barrier_wait() releasing the partner producer on another CPU (futex wake, IPI, idle exit, switch): add_del_on_diff_cpu only',
    sweep: true,
  },
  // ---- clock time (never dilated) ----
  rcuGpNs: {
    value: 10_000_000,
    unit: 'ns',
    kind: 'clock',
    source:
      'assumption: a normal grace period on 8 CPUs busy in the kernel at HZ=1000: kernel/rcu/tree.c forces quiescent states after jiffies_till_first_fqs = 3 jiffies, and a CPU looping in syscalls reports one at a tick taken outside its read-side section; 5-20 ms (the sweep)',
    sweep: true,
  },
  tasksTraceExtraNs: {
    value: 5_000_000,
    unit: 'ns',
    kind: 'clock',
    source:
      'kernel/rcu/tasks.h: an RCU tasks trace grace period contains a normal one (rcu_tasks_trace_postscan() calls synchronize_rcu()) plus the kthread\'s gp_sleep = HZ / 200 (5 ms at HZ=1000) between grace periods; this is the part beyond the normal grace period',
    sweep: true,
  },
  // ---- counts ----
  blimit: { value: 10, unit: 'objects', kind: 'count', source: 'kernel/rcu/tree.c: DEFAULT_RCU_BLIMIT, callbacks invoked per rcu_do_batch() at least', sweep: true },
  rcuDivisor: { value: 7, unit: 'bits', kind: 'count', source: 'kernel/rcu/tree.c: rcu_divisor, rcu_do_batch() invokes at least pending >> 7', sweep: false },
  softirqRestart: { value: 10, unit: 'rounds', kind: 'count', source: 'kernel/softirq.c: MAX_SOFTIRQ_RESTART, rounds before the rest goes to ksoftirqd (which then shares the CPU with the producer)', sweep: false },
} satisfies Record<string, Constant>;

export type ConstantName = keyof typeof CONSTANTS;
export type Constants = Record<ConstantName, number>;

/** The values, optionally with some overridden (the sweep). */
export function constants(over: Partial<Constants> = {}): Constants {
  const out = {} as Constants;
  for (const [name, c] of Object.entries(CONSTANTS)) out[name as ConstantName] = over[name as ConstantName] ?? c.value;
  return out;
}

/** rcu_trace_implies_rcu_gp(): true since v6.1 (include/linux/rcupdate.h),
 *  the kernel the RFC was written against: seed 004's __free_rcu_tasks_trace()
 *  then skips its call_rcu(). */
export const RCU_TRACE_IMPLIES_RCU_GP = true;

// SCALING. The real benchmark does about a million map operations per CPU
// per second; a step-level run of the spec cannot. The run therefore
// dilates CPU time by `scale`: every `cpu` cost above is multiplied by it,
// while `clock` times (grace periods) are not. The modelled system is the
// real one with grace periods `scale` times shorter in operations: each
// CPU does `scale` times fewer operations per grace period. Objects held
// because they wait for time to pass (a grace period, a callback, a
// kworker chain that ends in one) are then `scale` times fewer; objects
// held because of a count (free_llist between its watermarks, a batch not
// yet full, the map's own elements) are not. The report multiplies the
// first kind by `scale` and leaves the second (harness/workload/memory.ts
// says which list is which). test/harness/workload.test.ts checks that
// halving the operations (twice the scale) reorders no flavours.
export const DEFAULT_SCALE = 32;
/** modelled seconds of a run */
export const DEFAULT_SECONDS = 0.5;
/** memory is sampled this often (modelled time) */
export const SAMPLE_NS = 2_000_000;
/** the benchmark's default producers: -p8 (its run_bench_htab_mem.sh), one per CPU */
export const DEFAULT_CPUS = 8;
