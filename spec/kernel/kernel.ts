import { report } from './events.ts';
import type { InvariantName } from '../../model/invariants.ts';
import { Context } from './context.ts';
import { type Owner } from './types.ts';
import type { Witness } from './facts.ts';
import { links, type Obj } from './obj.ts';
import { Slab } from './slab.ts';
import { Rcu } from './rcupdate.ts';
import type { IrqWork } from './irq_work.ts';
import type { Work } from './workqueue.ts';
import type { Cell } from './atomic.ts';
import type { Event } from './events.ts';

/** The configuration switches of the modelled kernel (BRIEF §1). Checker
 *  settings (runs, budgets) live in harness/config.ts, not here. */
export interface KernelConfig {
  cpus: number;
  /** CONFIG_PREEMPT_RT: irq_work runs in a per-CPU kthread at task level */
  preemptRt: boolean;
  /** rcu_trace_implies_rcu_gp() */
  rcuTraceImpliesRcuGp: boolean;
  /** slab pool: kmalloc fails once this many allocator objects are live */
  maxObjects: number;
  /** bound set by the checker: task contexts stacked by preemption per CPU */
  maxTaskNesting: number;
  /** bound set by the checker: steps one context may take to finish */
  stepLimit: number;
}

export interface Cpu {
  readonly id: number;
  /** bottom..top; only the top context runs */
  readonly stack: Context[];
  irqsOff: boolean;
  online: boolean;
}

/** Where objects may sit inside the allocator, for the Conservation checks.
 *  A list head, or an in-flight batch holding a chain. */
export interface Holder {
  readonly name: string;
  head(): Obj | null;
  /** true if every change of what head() reaches writes LlistHead.first or
   *  Obj.next (bumping links.version); other holders are walked every step */
  readonly tracked?: boolean;
  /** objects here wait for a grace period (waiting_for_gp, a batch): once
   *  every callback ran none may be left (FreedObjectsReturnToSlab) */
  readonly waitsForGp?: boolean;
}

/** What a family holds in a holder and where: its declaration, made when
 *  it registers the holder (Kernel.register). The memory bound and the
 *  placement judges (model/allocator.ts) read only this, so a family
 *  adopts them by declaring its holders: per CPU, per node, of which
 *  unit. A holder without one is judged by Conservation only. */
export interface Holding {
  /** 'cache': objects the allocator may hand out again without waiting
   *  (counted against the family's memory bound); 'gp': objects waiting
   *  for a grace period (they leave at a fair quiesce); 'parked': objects
   *  the code sets aside until a later event drains them, as many as the
   *  contexts that reach it (free_llist_extra: NMI frees that found
   *  'active' taken, drained by the next free_bulk()): a CPU's cache all
   *  the same, not counted against the bound */
  readonly kind: 'cache' | 'gp' | 'parked';
  /** the structure it belongs to (a cache): a memory bound term of that
   *  structure bounds it */
  readonly of?: Owner;
  /** the CPU whose per-CPU structure this is: after the CPU's dead hook
   *  (and at the end of teardown) a dead CPU's caches hold nothing */
  readonly cpu?: number;
  /** the NUMA node whose structure this is (a per-node barn) */
  readonly node?: number;
  /** ksize() of every object it may hold */
  readonly unit?: number;
  /** the percpu unit (bytes) every object it holds carries; 0: none */
  readonly pptr?: number;
}

/** One term of a family's memory bound: a structure (a per-CPU cache)
 *  and how many objects its code lets it keep on its 'cache' holdings
 *  beyond what programs own (its watermarks, batch, array size), with
 *  the formula in the family's words. Terms of freed structures count 0. */
export interface MemoryBoundTerm {
  /** the structure, whose declared 'cache' holders (Holding) it bounds */
  readonly owner: Owner;
  /** its CPU */
  readonly cpu: number;
  slack(): number;
  readonly formula: string;
}

/** A spec structure that can state its own counter facts at quiescence
 *  (free_cnt vs. list length, active == 0). */
export interface Audited {
  audit(fail: (invariant: InvariantName, detail: string, w?: Partial<Witness>) => void): void;
  /** at an idle point (every callback ran, nothing pending): the
   *  structure's own "nothing in flight" facts (FreedObjectsReturnToSlab) */
  idle?(fail: (invariant: InvariantName, detail: string, w?: Partial<Witness>) => void): void;
}

/** Observer of allocator-level events: the abstract model (model/). */
export interface Observer {
  kfree(x: Context | null, obj: Obj): void;
}

/** Records each step for traces; null while exploring (the hot path). */
export interface Tracer {
  step(x: Context, what: string): void;
  note(x: Context | null, what: string): void;
}

/** Counts of interesting situations reached (each policy declares its own). */
export type Situations = Map<string, number>;

export class Kernel {
  readonly cpus: Cpu[];
  readonly slab: Slab;
  readonly rcu: Rcu;
  /** irq_works queued and not yet started, in queue order */
  readonly pendingIrqWork = new Set<IrqWork>();
  /** irq_works claimed by a context that has not queued them yet */
  readonly claimedIrqWork = new Set<IrqWork>();
  /** works queued and not yet started, in queue order */
  readonly pendingWork = new Set<Work>();
  readonly holders: Holder[] = [];
  /** what the family declared it holds where (Holding), per holder */
  readonly holdings = new Map<Holder, Holding>();
  /** the irq_works that refill a per-CPU cache, with that CPU: the
   *  liveness judges read their state (claimed, queued, running), not the
   *  engine's bookkeeping of irq_work_queue(), so a family's own copy of
   *  the primitive is judged the same */
  readonly refills: { readonly work: IrqWork; readonly cpu: number }[] = [];
  /** the memory bound each structure of the family declares: what it may
   *  hold beyond what programs own, as its code implies (MemoryBound) */
  readonly bounds: MemoryBoundTerm[] = [];
  readonly audited: Audited[] = [];
  /** counters of spec structures, for state fingerprints */
  readonly cells: Cell[] = [];
  observer: Observer | null = null;
  tracer: Tracer | null = null;
  situations: Situations | null = null;
  steps = 0;
  /** keep each context's step labels (Context.history) */
  keepHistory = false;
  /** set by a harness that explores with nobody reading step labels: the
   *  engine's primitives then yield '' instead of building their label
   *  (a template string a step is most of a step's garbage) */
  quiet = false;
  /** where each step's Event goes while someone keeps them (fire()'s
   *  caller, a trace, the footprint audit); null while exploring: then a
   *  step builds no event (spec/kernel/events.ts) */
  record: Event[] | null = null;
  /** the running family's footprints are not all known: every step counts
   *  as touching everything (sound; a family declares it, Policy.footprints) */
  coarse = false;
  /** what the harness drives the machine with (sched.ts Driver): null
   *  for a kernel driven directly (tests, the workload engine) */
  driver: import('./sched.ts').Driver | null = null;
  /** the map's teardown began: no new program starts (sched.ts allowed) */
  tearingDown = false;
  /** called before each step (the footprint audit's digest) */
  beforeStep: ((x: Context) => void) | null = null;
  /** per-step check installed by the model (NeverOnTwoLists) */
  onStep: ((x: Context) => void) | null = null;
  /** bumped on every walk of the holders (see Obj.mark) */
  walk = 1;
  /** registered holders whose changes links.version does not see */
  untrackedHolders = 0;
  private labelCounts = new Map<string, number>();

  constructor(readonly cfg: KernelConfig) {
    this.cpus = [];
    for (let id = 0; id < cfg.cpus; id++) this.cpus.push({ id, stack: [], irqsOff: false, online: true });
    this.slab = new Slab(this);
    this.rcu = new Rcu(this);
  }

  /** Are step labels wanted? Always while tracing or keeping history, and
   *  whenever the generators are driven by code that did not ask for quiet
   *  (tests read the labels). */
  get labels(): boolean {
    return !this.quiet || this.tracer !== null || this.keepHistory;
  }

  /** A fresh context label: prog0, prog1, ... per kind, stable in traces. */
  label(kind: string): string {
    const n = this.labelCounts.get(kind) ?? 0;
    this.labelCounts.set(kind, n + 1);
    return `${kind}${n}`;
  }

  context(cpu: number, level: Context['level'], label: string): Context {
    return new Context(this, cpu, level, label);
  }

  top(cpu: number): Context | undefined {
    const s = this.cpus[cpu]!.stack;
    return s[s.length - 1];
  }

  /** Use-after-free check on every access to a freeable structure. */
  touch(x: Context, o: Owner, what: string): void {
    if (o.freed) {
      report('teardown-touch', `${x.fn} on cpu${x.cpu} (${x.label}) touched ${what} of ${o.name} after teardown freed it`,
      );
    }
  }

  register(h: Holder, holds?: Holding): void {
    // per_cpu_ptr() of a CPU that does not exist points past the percpu area
    if (holds?.cpu !== undefined && (holds.cpu < 0 || holds.cpu >= this.cfg.cpus)) {
      report('oops', `BUG: ${h.name} is the per-CPU structure of cpu${holds.cpu}, past the ${this.cfg.cpus} possible CPUs: out of the percpu area`);
    }
    this.holders.push(h);
    if (holds) this.holdings.set(h, holds);
    if (!h.tracked) this.untrackedHolders++;
    links.version++;
  }
  unregister(h: Holder): void {
    const i = this.holders.indexOf(h);
    this.holdings.delete(h);
    if (i >= 0) {
      this.holders.splice(i, 1);
      if (!h.tracked) this.untrackedHolders--;
    }
    links.version++;
  }

  /** Every context on every CPU, bottom to top. */
  contexts(): Context[] {
    const out: Context[] = [];
    for (const c of this.cpus) for (const x of c.stack) out.push(x);
    return out;
  }

  get quiescent(): boolean {
    for (const c of this.cpus) if (c.stack.length) return false;
    return true;
  }
}

export type { Context };
