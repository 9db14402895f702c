// The Policy API: an allocator design is a plain object with a handful of
// hooks. The harness boots it, drives programs through alloc/free on every
// CPU and context, tears it down, and checks the model's invariants.
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen, Level, ObjAct } from '../kernel/types.ts';
import type { StepView } from '../kernel/events.ts';
import type { FaultKind } from '../kernel/slab.ts';
import type { InvariantName } from '../../model/invariants.ts';
import type { Scenario } from './scenario.ts';
import type { Finding } from './finding.ts';

/** A coverage situation: an interesting state the exploration must reach
 *  for a green check to mean something. A family declares its situations
 *  in one file beside its code (spec/memalloc/situations.ts) as predicates
 *  over a step's event: after each step, while coverage is collected, the
 *  engine asks `when` of the situations indexed under the step's innermost
 *  kernel function (`fns`) or its context level (`level`), and counts
 *  `name` each time it holds. A predicate reads the event's fields (its
 *  target is the list head or counter the step acted on: compare it, or
 *  its `field`, never a name's text) and may ask the kernel about the rest
 *  of the machine. A situation without `when` is counted by the harness
 *  (grace periods it could not end, readers it woke): the spec never
 *  counts one itself. */
export interface Situation {
  readonly name: string;
  /** one line: what it means */
  readonly text: string;
  /** the innermost kernel functions (the event's fn) of the steps it can match */
  readonly fns?: readonly string[];
  /** or: the level of the context that stepped */
  readonly level?: Level;
  /** and: only steps that did this to an object (the event's act),
   *  checked before `when` is asked */
  readonly act?: ObjAct;
  /** a step's event (e; the other contexts are in k.cpus): does the
   *  situation hold? (a number: how many times, e.g. once per other
   *  context it involves) */
  when?(e: StepView, k: Kernel): boolean | number;
  /** or: asked at the first step of a call of one of these kernel
   *  functions (the step that entered it: its decisions before its first
   *  step are that step's) */
  readonly entering?: readonly string[];
  /** or: asked only at a context's first step */
  readonly first?: boolean;
  /** counted when reached but never a blind spot (not expected of a run):
   *  a state the family notes, which not every configuration can reach */
  readonly optional?: boolean;
}

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
  readonly bug?: {
    readonly invariants: readonly InvariantName[];
    readonly why: string;
    /** the configuration the zoo tests find it in (default: fixed) */
    readonly config?: string;
    /** the variant keeps every known finding of the policy it varies, also
     *  those of its own invariants: its violation breaks an invariant a
     *  known finding breaks, and only the finding's signature tells them
     *  apart (a regression that would hide behind a known finding) */
    readonly behindFinding?: boolean;
    /** a window the random search seldom lines up: the share of seeds on
     *  which the default budget finds it (default: every seed), and why;
     *  the zoo soak holds it to that share (test/zoo/zoo.test.ts) */
    readonly foundOn?: { readonly share: number; readonly why: string };
  };
  /** a correct design the default check leaves out (it is explored when
   *  named: check --policy NAME): why, e.g. it re-explores another
   *  policy's code at that policy's cost */
  readonly optIn?: { readonly why: string };
  /** a fixed version of a known bug or finding: must stay clean, judged
   *  with no finding excused (the controls of the faithful policies'
   *  findings are part of the default check) */
  readonly control?: { readonly of: string; readonly why: string };
  /** a faithful model of a seed whose own code is wrong: the check still
   *  explores it by default and reports each violation that a known
   *  finding's signature matches as that finding (documented in `doc`),
   *  without failing the run; a violation of the same invariant that no
   *  signature matches fails it (spec/policies/finding.ts) */
  readonly findings?: {
    /** what happened, one finding each (the invariant and a signature) */
    readonly known: readonly Finding[];
    readonly why: string;
    readonly doc: string;
    /** the configurations that show them (default: every one) */
    readonly configs?: readonly string[];
  };
  /** the design's contract requires sleepable programs to take
   *  bpf_rcu_read_lock() around element accesses (free-after-rcu-gp) */
  readonly sleepableReadersTakeRcu?: boolean;
  /** invariants beyond the core set this design promises */
  readonly promises?: readonly InvariantName[];
  /** fault kinds that reach this design's code (default: kmalloc, and
   *  percpu for per-CPU objects); the harness injects only these */
  readonly faults?: readonly FaultKind[];
  /** coverage: the situations the exploration must reach for a green check
   *  to mean something (predicates over steps' events, see Situation);
   *  none declared: only the engine's own (faults) */
  readonly situations?: readonly Situation[];
  /** 'exact': every piece of shared state the design's code touches sits
   *  behind an engine primitive or a spec/kernel/fields.ts accessor, so each
   *  step's event names what it read and wrote (test/spec/kernel/
   *  footprint.test.ts audits it). Default (and 'coarse'): every step counts
   *  as touching everything (sound, only coarser for a reduction). */
  readonly footprints?: 'exact' | 'coarse';
  /** `allocspec prove`: the scenarios whose interleavings are searched
   *  (spec/policies/scenario.ts); a family's list beside its code
   *  (spec/memalloc/scenarios.ts), inherited by variants that spread the
   *  policy; add your own with `scenarios: [...base.scenarios!, mine]` */
  readonly scenarios?: readonly Scenario[];
  /** boot: create and prefill; the state is passed to every other hook */
  init(k: Kernel, opts: AllocOptions): S;
  /** who calls the allocator: BPF programs (default: task level inside an
   *  RCU read-side section, and perf-event programs in NMI) or syscalls
   *  (task level, may sleep, no NMI: an allocator under a mutex) */
  readonly callers?: 'bpf' | 'syscall';
  /** every object is a per-CPU area: percpu and page faults reach it in
   *  every configuration, not only the percpu ones */
  readonly percpuObjects?: boolean;
  /** the requests (size, alignment) programs draw from, for allocators of
   *  arbitrary sizes; default: the configuration's sizes */
  readonly requests?: readonly { size: number; align: number }[];
  /** bytes in front of what a program asked for (memalloc.c: the 8-byte
   *  llist_node): declaring it promises ObjectFitsRequest, that the unit
   *  handed out holds the request plus this header */
  readonly header?: number;
  /** a program on x allocates (size matters for size buckets only) */
  alloc(x: Context, s: S, size: number, align?: number): Gen<Obj | null>;
  /** a program on x frees an object it owned */
  free(x: Context, s: S, obj: Obj): Gen<void>;
  /** optional: bpf_mem_free_rcu()-style free: the object may still be read
   *  by RCU readers until a grace period passes (programs call it when the
   *  policy has it) */
  freeRcu?(x: Context, s: S, obj: Obj): Gen<void>;
  /** optional: CPU hotplug teardown callback (SLUB's slub_cpu_dead()), run
   *  in a task on an online CPU after `cpu` went offline; memalloc.c has
   *  none, so its per-CPU caches keep what they hold */
  cpuDead?(x: Context, s: S, cpu: number): Gen<void>;
  /** teardown, from a syscall/kworker on x, after every object was freed */
  destroy(x: Context, s: S): Gen<void>;
}

/** Identity helper that keeps the state type of a policy checked. */
export function definePolicy<S>(p: Policy<S>): Policy<S> {
  return p;
}
