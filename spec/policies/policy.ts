// The Policy API: an allocator design is a plain object with a handful of
// hooks. The harness boots it, drives programs through alloc/free on every
// CPU and context, tears it down, and checks the model's invariants.
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { FaultKind } from '../kernel/slab.ts';
import type { InvariantName } from '../../model/invariants.ts';

/** How the allocator is created (bpf_mem_alloc_init's arguments). */
export interface AllocOptions {
  /** object size; 0 = size buckets (bpf_mem_alloc / bpf_mem_free) */
  size: number;
  /** per-CPU objects (bpf_mem_alloc_init(ma, size, true)) */
  percpu: boolean;
}

export interface Policy<S = unknown> {
  /** stable name used on the command line, in reports and fixtures */
  readonly name: string;
  /** one line: what it models, from which seed */
  readonly summary: string;
  /** bug-zoo variants: the invariants the bug can break (first = the one it
   *  is named for), and why */
  readonly bug?: { readonly invariants: readonly InvariantName[]; readonly why: string };
  /** a faithful model of a seed whose own code breaks these invariants:
   *  the check still explores it by default and reports the violation, but
   *  as a known finding (documented in `doc`) that does not fail the run */
  readonly findings?: { readonly invariants: readonly InvariantName[]; readonly why: string; readonly doc: string };
  /** the design's contract requires sleepable programs to take
   *  bpf_rcu_read_lock() around element accesses (free-after-rcu-gp) */
  readonly sleepableReadersTakeRcu?: boolean;
  /** invariants beyond the core set this design promises */
  readonly promises?: readonly InvariantName[];
  /** fault kinds that reach this design's code (default: kmalloc, and
   *  percpu for per-CPU objects); the harness injects only these */
  readonly faults?: readonly FaultKind[];
  /** coverage: situations (names counted with k.saw) the exploration must
   *  reach for a green check to mean something; default: memalloc.c's */
  readonly situations?: Readonly<Record<string, string>>;
  /** boot: create and prefill; the state is passed to every other hook */
  init(k: Kernel, opts: AllocOptions): S;
  /** the interesting requests the harness draws from (percpu-chunk:
   *  sizes and alignments, illegal ones included) */
  readonly requests?: readonly { size: number; align: number }[];
  /** a program on x allocates (size matters for size buckets only; align
   *  for policies with `requests`) */
  alloc(x: Context, s: S, size: number, align?: number): Gen<Obj | null>;
  /** a program on x frees an object it owned */
  free(x: Context, s: S, obj: Obj): Gen<void>;
  /** optional: bpf_mem_free_rcu()-style free: the object may still be read
   *  by RCU readers until a grace period passes (programs call it when the
   *  policy has it) */
  freeRcu?(x: Context, s: S, obj: Obj): Gen<void>;
  /** teardown, from a syscall/kworker on x, after every object was freed */
  destroy(x: Context, s: S): Gen<void>;
}

/** Identity helper that keeps the state type of a policy checked. */
export function definePolicy<S>(p: Policy<S>): Policy<S> {
  return p;
}
