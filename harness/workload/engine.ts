// The workload's one seam with the engine (spec/kernel/): boot a policy on
// a modelled kernel and run whole contexts on a CPU, each to its end, the
// way the engine's rules let them run (sched.ts: start, runCpu, begin,
// interruptPending, readyCallbackOn, workFor; rcupdate.ts: grace periods).
// Everything else in harness/workload/ talks to this file only, so a new
// engine API is adopted here.
//
// A context runs to its end at one modelled instant; its cost is read from
// counters this file keeps (steps, kmalloc/kfree, call_rcu, irq_work
// entries): harness/workload/run.ts turns them into time.
import { resetContextIds, type Context } from '../../spec/kernel/context.ts';
import { Kernel } from '../../spec/kernel/kernel.ts';
import type { Obj } from '../../spec/kernel/obj.ts';
import { rcuReadLock, rcuReadUnlock, type Flavour } from '../../spec/kernel/rcupdate.ts';
import { begin, canStart, enabled, interruptPending, readyCallbackOn, runCpu, start, workFor } from '../../spec/kernel/sched.ts';
import type { Gen } from '../../spec/kernel/types.ts';
import type { Work } from '../../spec/kernel/workqueue.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import { PolicyError } from '../errors.ts';
import { hook } from '../programs.ts';

export type { Context, Gen, Obj, Flavour, Work };
export { rcuReadLock, rcuReadUnlock };

/** What the machine has done so far: the cost counters. */
export interface Tally {
  steps: number;
  kmalloc: number;
  kfree: number;
  callRcu: number;
  irqWork: number;
}

export interface MachineOptions {
  cpus: number;
  /** the fixed element size bpf_mem_alloc_init() / kmalloc() gets */
  size: number;
  rcuTraceImpliesRcuGp: boolean;
}

export class Machine {
  readonly k: Kernel;
  readonly state: unknown;
  private readonly n = { kmalloc: 0, kfree: 0, callRcu: 0, irqWork: 0 };
  /** kmalloc()s of allocator objects (elements), not of other structures */
  objectKmallocs = 0;

  constructor(
    readonly policy: Policy<unknown>,
    o: MachineOptions,
  ) {
    resetContextIds();
    const k = new Kernel({
      cpus: o.cpus,
      preemptRt: false,
      rcuTraceImpliesRcuGp: o.rcuTraceImpliesRcuGp,
      maxObjects: Number.MAX_SAFE_INTEGER,
      maxTaskNesting: 2,
      stepLimit: 50_000_000,
    });
    k.quiet = true;
    this.k = k;
    // count the calls that cost more than a step (instance wrappers: the
    // engine's own code is untouched)
    const n = this.n;
    const slab = k.slab;
    const kmalloc = slab.kmalloc.bind(slab);
    const kfree = slab.kfree.bind(slab);
    const kmallocAux = slab.kmallocAux.bind(slab);
    slab.kmalloc = (x, size, gfp) => (n.kmalloc++, this.objectKmallocs++, kmalloc(x, size, gfp));
    slab.kfree = (x, o) => (n.kfree++, kfree(x, o));
    slab.kmallocAux = (x, name) => (n.kmalloc++, kmallocAux(x, name));
    const queue = k.rcu.queue.bind(k.rcu);
    k.rcu.queue = (x, f, cb) => (n.callRcu++, queue(x, f, cb));
    const context = k.context.bind(k);
    k.context = (cpu, level, label) => {
      if (label.startsWith('irq_work')) n.irqWork++;
      return context(cpu, level, label);
    };
    try {
      this.state = policy.init(k, { size: o.size, percpu: false });
    } catch (e) {
      throw new PolicyError(policy.name, 'init', 'threw at boot', e);
    }
  }

  tally(): Tally {
    return { steps: this.k.steps, ...this.n };
  }

  /** Run body as a new task on cpu to its end, with every interrupt it
   *  raises there (R8: a queued irq_work fires as IRQs come back on). */
  task(cpu: number, label: string, body: (x: Context) => Gen<unknown>): void {
    const k = this.k;
    if (!canStart(k, cpu, 'task')) throw new Error(`workload: cpu${cpu} cannot start ${label}`);
    this.toEnd(start(k, cpu, 'task', label, body));
    this.interrupts(cpu);
  }

  /** A policy hook inside a task (errors name the policy and the hook). */
  hook<T>(x: Context, name: string, g: () => Gen<T>): Gen<T> {
    return hook(x, this.policy, name, g);
  }

  /** Pending irq_work of cpu runs now (hardirq). */
  interrupts(cpu: number): void {
    const k = this.k;
    for (let w = interruptPending(k, cpu); w; w = interruptPending(k, cpu)) this.toEnd(begin(k, { kind: 'irq', cpu, work: w })!);
  }

  /** Callbacks whose grace period ended, waiting on cpu. */
  readyCallbacks(cpu: number): number {
    const r = this.k.rcu;
    return readyCallbackOn(this.k, cpu) ? r.rcu.ready[cpu]!.length + r.trace.ready[cpu]!.length : 0;
  }

  /** One ready callback of cpu runs in softirq. */
  callback(cpu: number): void {
    this.toEnd(begin(this.k, { kind: 'softirq', cpu })!);
    this.interrupts(cpu);
  }

  /** The work item a kworker on cpu would run now, if any. */
  work(cpu: number): Work | null {
    return workFor(this.k, cpu);
  }

  /** Works queued and not started (to note when each was queued). */
  pendingWork(): Iterable<Work> {
    return this.k.pendingWork;
  }

  kworker(cpu: number, w: Work): void {
    this.toEnd(begin(this.k, { kind: 'kworker', cpu, work: w })!);
    this.interrupts(cpu);
  }

  /** The grace period of f in progress (its identity), or null. */
  gp(f: Flavour): object | null {
    return this.k.rcu.of(f).gp;
  }

  /** End the grace period of f; false when a reader still holds it. */
  endGp(f: Flavour): boolean {
    if (!this.k.rcu.canEndGp(f)) return false;
    begin(this.k, { kind: 'gp', flavour: f });
    return true;
  }

  /** Every list objects can sit on, with how many each holds now. */
  lists(): { name: string; objects: number }[] {
    const out: { name: string; objects: number }[] = [];
    for (const h of this.k.holders) {
      let n = 0;
      for (let o = h.head(); o; o = o.next) n++;
      out.push({ name: h.name, objects: n });
    }
    return out;
  }

  /** Allocator objects out of slab now. */
  get live(): number {
    return this.k.slab.live;
  }

  /** ksize() of the elements (all come from one kmalloc cache), 0 before
   *  the first. */
  get ksize(): number {
    return this.k.slab.all[0]?.size ?? 0;
  }

  /** kmalloc'd structures (not objects) of this name not yet freed. */
  structs(name: string): number {
    let n = 0;
    for (const s of this.k.slab.structs) if (s.name === name) n++;
    return n;
  }

  get steps(): number {
    return this.k.steps;
  }

  /** Run x to its end. A context that sleeps waiting for other work (a
   *  syscall's flush_work(), a barrier: designs whose callers are
   *  syscalls) gets that work run, whatever the engine allows next but a
   *  grace period, which only the modelled clock ends; a wait only a
   *  grace period can end is an error of the run. */
  private toEnd(x: Context): void {
    const k = this.k;
    runCpu(k, x.cpu, 0, x);
    for (let rounds = 0; !x.done; rounds++) {
      const a = rounds < 100_000 ? enabled(k).find((e) => e.kind !== 'gp') : undefined;
      if (!a) throw new Error(`workload: ${x.label} on cpu${x.cpu} cannot finish (${x.waitWhat || x.fn})`);
      const y = begin(k, a);
      if (y) runCpu(k, y.cpu, 0, y);
      runCpu(k, x.cpu, 0, x);
    }
  }
}
