// The use cases of the kernel's htab-mem benchmark
// (tools/testing/selftests/bpf/benchs/bench_htab_mem.c and
// progs/htab_mem_bench.c), and the hash map they drive: one producer
// thread per CPU calls a syscall in a loop, and the BPF program attached
// to it does OP_BATCH map operations in a bpf_loop(), on keys
// from = cpu, cpu + nr_thread, ... (each CPU its own subset).
//
//   overwrite            64 updates of existing keys: each allocates a new
//                        element and frees the one it replaces
//   batch_add_batch_del  64 updates (adds) then 64 deletes of the same keys
//   add_del_on_diff_cpu  producers in pairs in lock-step (pthread barriers):
//                        the even CPU adds 64 keys (BPF_NOEXIST), then the
//                        odd CPU deletes them (keys from = cpu / 2, step
//                        nr_thread / 2): elements allocated on one CPU
//                        are freed on another
//   no_op                the loop without the map (an earlier version of
//                        the benchmark's baseline)
import type { Context, Gen, Machine, Obj } from './engine.ts';
import { rcuReadLock, rcuReadUnlock } from './engine.ts';

export const USE_CASES = ['overwrite', 'batch_add_batch_del', 'add_del_on_diff_cpu', 'no_op'] as const;
export type UseCaseName = (typeof USE_CASES)[number];

export function isUseCase(s: string): s is UseCaseName {
  return (USE_CASES as readonly string[]).includes(s);
}

/** Why the use case cannot run on this many CPUs, or null. */
export function useCaseProblem(u: UseCaseName, cpus: number): string | null {
  // htab_mem_validate(): "needs an even number of producers"
  if (u === 'add_del_on_diff_cpu' && cpus % 2 !== 0) return `${u} needs an even number of CPUs (producers in pairs), got ${cpus}`;
  return null;
}

/** htab_map_max_entries in the benchmark: MAX(8192, 64 * nr_cpus) */
export function maxEntries(cpus: number): number {
  return Math.max(8192, 64 * cpus);
}

export type OpKind = 'update' | 'add' | 'delete' | 'noop';

export interface Op {
  readonly kind: OpKind;
  readonly key: number;
}

/** One producer thread on its CPU: the programs it runs, op by op. */
export interface Producer {
  readonly cpu: number;
  /** the ops of one program run (one syscall) */
  readonly program: readonly Op[];
  /** lock-step partner (add_del_on_diff_cpu): after each program this
   *  producer waits until the partner has run one */
  readonly partner: number | null;
  /** runs first in its pair */
  readonly first: boolean;
}

export function producers(u: UseCaseName, cpus: number, batch: number): Producer[] {
  const out: Producer[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const keys = (from: number, step: number): number[] => Array.from({ length: batch }, (_, i) => from + i * step);
    switch (u) {
      case 'overwrite':
        out.push({ cpu, program: keys(cpu, cpus).map((key) => ({ kind: 'update', key })), partner: null, first: true });
        break;
      case 'batch_add_batch_del': {
        const ks = keys(cpu, cpus);
        out.push({ cpu, program: [...ks.map((key) => ({ kind: 'update' as const, key })), ...ks.map((key) => ({ kind: 'delete' as const, key }))], partner: null, first: true });
        break;
      }
      case 'add_del_on_diff_cpu': {
        const ks = keys(cpu >> 1, cpus >> 1);
        const adds = (cpu & 1) === 0;
        out.push({ cpu, program: ks.map((key) => ({ kind: adds ? 'add' : 'delete', key })), partner: cpu ^ 1, first: adds });
        break;
      }
      case 'no_op':
        out.push({ cpu, program: keys(cpu, cpus).map((key) => ({ kind: 'noop', key })), partner: null, first: true });
        break;
    }
  }
  return out;
}

/** The hash map: key -> element. htab_map_update_elem() and
 *  htab_map_delete_elem() as far as the allocator sees them. */
export class Htab {
  readonly elems = new Map<number, Obj>();
  /** updates that found no memory (-ENOMEM) */
  failures = 0;
  /** elements allocated (updates that got one) */
  allocs = 0;
  constructor(
    readonly m: Machine,
    /** the element size the allocator was set up with */
    readonly size: number,
  ) {}

  /** One map operation as a BPF program's bpf_loop() iteration: inside
   *  the program's RCU read-side section. A design whose callers are
   *  syscalls (Policy.callers, an allocator that sleeps) gets the
   *  operation from a syscall instead: task level, no read-side section,
   *  allowed to sleep (as check runs it). */
  *op(x: Context, op: Op): Gen<void> {
    const syscall = this.m.policy.callers === 'syscall';
    x.sleepable = syscall;
    if (!syscall) rcuReadLock(x);
    const m = this.m;
    const s = m.state;
    const old = this.elems.get(op.key);
    if (op.kind === 'update' || (op.kind === 'add' && !old)) {
      // alloc_htab_elem(), link the new element, unlink the old one,
      // then free_htab_elem(old)
      const l = yield* m.hook(x, 'alloc', () => m.policy.alloc(x, s, this.size));
      if (l) {
        this.allocs++;
        this.elems.set(op.key, l);
        if (old) yield* m.hook(x, 'free', () => m.policy.free(x, s, old));
      } else this.failures++;
    } else if (op.kind === 'delete' && old) {
      this.elems.delete(op.key);
      yield* m.hook(x, 'free', () => m.policy.free(x, s, old));
    }
    if (!syscall) rcuReadUnlock(x);
  }
}
