// One execution of a scenario, replayed from boot: the agents that may act
// (what the search chooses between), the command each one fires through
// the check's own run (Sim.exec: the fixture of a violation is the list of
// commands fired, and `replay` runs exactly that), and the footprint of
// each action, from the events its steps emitted (spec/kernel/events.ts)
// plus what the harness and the model read and wrote around them.
//
// Agents, per scenario (fixed ids, at most 31: sets are bit masks):
//   step c     the context runnable on CPU c takes one step (an irq_work
//              pending there is taken first: R8); every program, NMI,
//              irq_work, callback and kworker on c goes on through it
//   prog c     CPU c's next scenario program starts and takes its first step
//   nmi i      the scenario's i-th NMI program arrives (and takes a step)
//   softirq c  a ready RCU callback starts on c (and takes a step)
//   kworker c  a pending work starts on c (and takes a step)
//   irq c      PREEMPT_RT: the irq_work kthread starts on c
//   gp f       the grace period of flavour f ends
//   destroy    map_free starts (after every program), takes a step
//   offline    the last CPU goes offline (cpuhp's callback runs to its end)
//   fault i    the scenario's i-th injected failure is armed
import type { Context } from '../../spec/kernel/context.ts';
import { EVERYTHING, type Event } from '../../spec/kernel/events.ts';
import type { Obj } from '../../spec/kernel/obj.ts';
import { canStart, interruptPending, irqWorkFor, runnable, workFor, allowed, hotplugAllowed } from '../../spec/kernel/sched.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Scenario, ScenarioProg } from '../../spec/policies/scenario.ts';
import type { InvariantName } from '../../model/invariants.ts';
import type { Cmd } from '../commands.ts';
import type { CheckConfig } from '../config.ts';
import { Sim } from '../sim.ts';
import { Kind, type Agent } from './agents.ts';
import { HARNESS_LOCS, type Fp, type Interner } from './footprints.ts';

/** A named scenario object's state in this execution. */
type Named = Obj | null | undefined; // undefined: not allocated yet; null: the alloc got NULL

export interface RunOptions {
  promise: readonly InvariantName[];
  tolerate: ReadonlySet<string>;
}

/** One execution from boot. */
export class Run {
  readonly sim: Sim;
  readonly cmds: Cmd[] = [];
  /** record footprints of the actions fired now (off while replaying a prefix) */
  recording = false;
  private readonly nextProg: number[];
  private readonly progCtx: (Context | null)[];
  private readonly nmiCtx: (Context | null)[];
  private readonly nmiFired: boolean[];
  private readonly names = new Map<string, Named>();
  private readonly allocNames = new Map<Context, string>();
  private destroyed = false;
  /** the CPU map_free started on (-1: not yet) */
  teardownCpu = -1;
  private offlined = false;
  private readonly armed: boolean[] = [];
  /** programs (task and NMI) still to start or to finish */
  private progsLeft: number;
  private readonly events: Event[] = [];
  // the current action's footprint, beyond its events
  private xr: number[] = [];
  private xw: number[] = [];
  private xra = false;
  private readonly locOwned: number;
  private readonly locPrograms: number;
  private readonly locTeardown: number;
  private readonly locCpu: number[];
  private readonly locReaders: number[];
  private readonly locRcu: number;
  private readonly locTrace: number;

  constructor(
    readonly policy: Policy<unknown>,
    readonly cfg: CheckConfig,
    readonly scenario: Scenario,
    readonly agents: readonly Agent[],
    private readonly intern: Interner,
    o: RunOptions,
  ) {
    this.sim = new Sim(policy, cfg, { promise: o.promise, tolerate: o.tolerate });
    const k = this.sim.k;
    this.nextProg = Array.from({ length: cfg.cpus }, () => 0);
    this.progCtx = Array.from({ length: cfg.cpus }, () => null);
    const nn = scenario.nmi?.length ?? 0;
    this.nmiCtx = Array.from({ length: nn }, () => null);
    this.nmiFired = Array.from({ length: nn }, () => false);
    this.progsLeft = scenario.cpus.reduce((a, l) => a + l.length, 0) + nn;
    this.locOwned = intern.named(HARNESS_LOCS.owned);
    this.locPrograms = intern.named(HARNESS_LOCS.programs);
    this.locTeardown = intern.named(HARNESS_LOCS.teardown);
    this.locCpu = Array.from({ length: cfg.cpus }, (_, c) => intern.named(HARNESS_LOCS.cpu(c)));
    this.locReaders = k.rcu.readers.map((l) => intern.id(l));
    this.locRcu = intern.id(k.rcu.rcu);
    this.locTrace = intern.id(k.rcu.trace);
    // what the model reads and writes when it judges, in the footprint of
    // the action during which it judges (spec/kernel/events.ts records the
    // spec's accesses; these are the model's own)
    const m = this.sim.model;
    const allocated = m.allocated.bind(m);
    m.allocated = (x, obj, size) => {
      const as = this.allocNames.get(x);
      if (as !== undefined) this.names.set(as, obj);
      if (this.recording) {
        // exclusive ownership and reuse after a grace period: who owns
        // what, and the grace periods completed
        this.xr.push(this.locOwned, this.locRcu, intern.id(obj));
        this.xw.push(this.locOwned);
      }
      allocated(x, obj, size);
    };
    const allocFailed = m.allocFailed.bind(m);
    m.allocFailed = (x) => {
      const as = this.allocNames.get(x);
      if (as !== undefined) this.names.set(as, null);
      // the liveness judges read the machine: the stack, claimed irq_work, the slab
      if (this.recording) this.xra = true;
      allocFailed(x);
    };
    const kfree = m.kfree.bind(m);
    m.kfree = (x, obj) => {
      // RcuSafety reads every CPU's readers; Conservation who owns what
      if (this.recording) this.xr.push(this.locOwned, ...this.locReaders);
      kfree(x, obj);
    };
  }

  private named(p: ScenarioProg): Obj | null {
    const o = this.names.get(p.obj!);
    return o ?? null;
  }

  /** The owned-index of the object p names, or -1 when it is not the map's (yet). */
  private argOf(p: ScenarioProg): number {
    if (p.op === 'alloc') return p.req ?? 0;
    const o = this.named(p);
    if (o === null) return -1;
    return this.sim.model.owned.indexOf(o);
  }

  /** Will the object p names never be the map's in this execution? (its
   *  alloc got NULL, or it was freed and is not owned any more) */
  private gone(p: ScenarioProg): boolean {
    if (p.op === 'alloc') return false;
    const o = this.names.get(p.obj!);
    return o === null || (o !== undefined && !this.sim.model.owned.includes(o));
  }

  /** The mask of agents that may act now. */
  enabled(): number {
    const sim = this.sim;
    const k = sim.k;
    if (sim.over) return 0;
    let m = 0;
    for (const a of this.agents) {
      let on = false;
      switch (a.kind) {
        case Kind.Step:
          on = (!k.cfg.preemptRt && interruptPending(k, a.cpu) !== null) || runnable(k, a.cpu) !== undefined;
          break;
        case Kind.Prog: {
          const list = this.scenario.cpus[a.cpu]!;
          const i = this.nextProg[a.cpu]!;
          const cur = this.progCtx[a.cpu];
          if (i < list.length && (cur === null || cur.done)) {
            const p = list[i]!;
            on = this.argOf(p) >= 0 && allowed(k, sim.slots.task[a.cpu]!);
          }
          break;
        }
        case Kind.Nmi:
          if (!this.nmiFired[a.idx]) on = this.argOf(this.scenario.nmi![a.idx]!) >= 0 && allowed(k, sim.slots.nmi[a.cpu]!);
          break;
        case Kind.Softirq:
          on = allowed(k, sim.slots.softirq[a.cpu]!);
          break;
        case Kind.Kworker:
          on = workFor(k, a.cpu) !== null;
          break;
        case Kind.Irq:
          on = irqWorkFor(k, a.cpu) !== null;
          break;
        case Kind.Gp:
          on = k.rcu.canEndGp(a.idx === 0 ? 'rcu' : 'rcu_tasks_trace');
          break;
        case Kind.Destroy:
          if (!this.destroyed && !k.tearingDown && this.programsDone()) {
            for (let c = 0; c < k.cfg.cpus && !on; c++) on = canStart(k, c, 'task');
          }
          break;
        case Kind.Offline:
          on = !this.offlined && sim.faultKinds.includes('cpu_offline') && k.cpus[k.cfg.cpus - 1]!.online && hotplugAllowed(k);
          break;
        case Kind.Fault:
          on = !this.armed[a.idx] && allowed(k, sim.slots.fault[this.scenario.inject![a.idx]!]);
          break;
      }
      if (on) m |= 1 << a.id;
    }
    return m;
  }

  /** Every scenario program has started and finished (or can never start:
   *  its object's alloc got NULL, or it is gone). */
  private programsDone(): boolean {
    if (this.progsLeft === 0) return true;
    for (let c = 0; c < this.cfg.cpus; c++) {
      const cur = this.progCtx[c];
      if (cur !== null && !cur.done) return false;
      const list = this.scenario.cpus[c] ?? [];
      for (let i = this.nextProg[c]!; i < list.length; i++) if (!this.gone(list[i]!)) return false;
    }
    const nmis = this.scenario.nmi ?? [];
    for (let i = 0; i < nmis.length; i++) {
      const x = this.nmiCtx[i];
      if (x !== null && !x.done) return false;
      if (!this.nmiFired[i] && !this.gone(nmis[i]!)) return false;
    }
    return true;
  }

  /** The command agent a fires now (a was enabled). */
  commandOf(a: Agent): Cmd {
    switch (a.kind) {
      case Kind.Step:
        return { t: 'step', cpu: a.cpu, steps: 1 };
      case Kind.Prog: {
        const p = this.scenario.cpus[a.cpu]![this.nextProg[a.cpu]!]!;
        return { t: 'prog', cpu: a.cpu, op: p.op, arg: this.argOf(p), count: 1, sleepable: p.sleepable === true, steps: 1 };
      }
      case Kind.Nmi: {
        const p = this.scenario.nmi![a.idx]!;
        return { t: 'nmi', cpu: a.cpu, op: p.op, arg: this.argOf(p), steps: 1 };
      }
      case Kind.Softirq:
        return { t: 'softirq', cpu: a.cpu, steps: 1 };
      case Kind.Kworker:
        return { t: 'kworker', cpu: a.cpu, steps: 1 };
      case Kind.Irq:
        return { t: 'irq', cpu: a.cpu, steps: 1 };
      case Kind.Gp:
        return { t: 'gp', flavour: a.idx === 0 ? 'rcu' : 'rcu_tasks_trace' };
      case Kind.Destroy:
        return { t: 'destroy', cpu: 0, steps: 1 };
      case Kind.Offline:
        return { t: 'fault', kind: 'cpu_offline' };
      case Kind.Fault:
        return { t: 'fault', kind: this.scenario.inject![a.idx]! };
    }
  }

  /** Fire agent a's command (a was enabled); the footprint of what it did
   *  when recording. A Violation propagates (the command is in cmds). */
  fire(a: Agent, cmd: Cmd = this.commandOf(a)): Fp | null {
    const sim = this.sim;
    const k = sim.k;
    const rec = this.recording;
    this.cmds.push(cmd);
    const depth = a.cpu >= 0 ? k.cpus[a.cpu]!.stack.length : 0;
    let p: ScenarioProg | null = null;
    if (a.kind === Kind.Prog) p = this.scenario.cpus[a.cpu]![this.nextProg[a.cpu]!]!;
    else if (a.kind === Kind.Nmi) p = this.scenario.nmi![a.idx]!;
    if (rec) {
      this.events.length = 0;
      k.record = this.events;
      this.xr = [];
      this.xw = [];
      this.xra = false;
    }
    let started: Context | null = null;
    try {
      sim.exec(cmd);
    } finally {
      k.record = null;
      if (p !== null) {
        // the program's context: pushed where the stack ended
        started = k.cpus[a.cpu]!.stack[depth] ?? null;
        if (a.kind === Kind.Prog) {
          this.nextProg[a.cpu]!++;
          this.progCtx[a.cpu] = started ?? ({ done: true } as Context);
        } else {
          this.nmiFired[a.idx] = true;
          this.nmiCtx[a.idx] = started ?? ({ done: true } as Context);
        }
        if (p.op === 'alloc' && p.as !== undefined && started !== null) this.allocNames.set(started, p.as);
      }
      if (a.kind === Kind.Destroy) {
        this.destroyed = true;
        for (const c of k.cpus) for (const x of c.stack) if (x.label === 'map_free') this.teardownCpu = c.id;
      }
      if (a.kind === Kind.Offline) this.offlined = true;
      if (a.kind === Kind.Fault) this.armed[a.idx] = true;
    }
    const finishedProg = this.countFinished();
    if (!rec) return null;
    return this.footprint(a, p, finishedProg);
  }

  /** Programs that finished since last asked (progsLeft goes down). */
  private readonly progSeen: (Context | null)[] = [];
  private readonly nmiSeen: (Context | null)[] = [];
  private countFinished(): boolean {
    let any = false;
    for (let c = 0; c < this.progCtx.length; c++) {
      const x = this.progCtx[c]!;
      if (x !== null && x.done && this.progSeen[c] !== x) {
        this.progSeen[c] = x;
        this.progsLeft--;
        any = true;
      }
    }
    for (let i = 0; i < this.nmiCtx.length; i++) {
      const x = this.nmiCtx[i]!;
      if (x !== null && x.done && this.nmiSeen[i] !== x) {
        this.nmiSeen[i] = x;
        this.progsLeft--;
        any = true;
      }
    }
    return any;
  }

  private footprint(a: Agent, p: ScenarioProg | null, finishedProg: boolean): Fp {
    const intern = this.intern;
    const fp: Fp = { r: this.xr, w: this.xw, ra: this.xra, wa: false };
    for (const e of this.events) {
      for (const l of e.writes) {
        if (l === EVERYTHING) fp.wa = true;
        else fp.w.push(intern.id(l));
      }
      for (const l of e.reads) if (l !== EVERYTHING) fp.r.push(intern.id(l));
      // bpfProg's lookup step asks whether the element is still the map's
      if (e.op === 'lookup') fp.r.push(this.locOwned);
    }
    if (a.cpu >= 0) fp.w.push(this.locCpu[a.cpu]!);
    switch (a.kind) {
      case Kind.Prog:
      case Kind.Nmi:
        if (p !== null && p.op !== 'alloc') {
          // a free releases the element (the model stamps the release with
          // the read-side sections open now and the grace periods done), a
          // lookup reads the map
          fp.w.push(this.locOwned);
          fp.r.push(this.locRcu, ...this.locReaders);
        }
        break;
      case Kind.Gp: {
        // the grace period ends once every reader it waits for left;
        // waking a waiter or readying callbacks writes the flavour
        fp.w.push(a.idx === 0 ? this.locRcu : this.locTrace);
        fp.r.push(...this.locReaders);
        break;
      }
      case Kind.Destroy:
        if (this.teardownCpu >= 0) fp.w.push(this.locCpu[this.teardownCpu]!);
        fp.r.push(this.locPrograms);
        fp.w.push(this.locTeardown, this.locOwned);
        break;
      case Kind.Offline:
        fp.wa = true;
        break;
      case Kind.Fault:
        // the armed failures live in the slab: the next kmalloc or trylock reads them
        fp.w.push(intern.id(this.sim.k.slab));
        break;
      default:
        break;
    }
    // the last step of a program: the teardown waits for it
    if (finishedProg) fp.w.push(this.locPrograms);
    return fp;
  }

  /** The end of the execution: the check's end-of-run judges (liveness
   *  through a quiesce when the scenario does not tear down; teardown,
   *  settle, leak checks in Sim.finish()). Throws a Violation. */
  finish(): void {
    if (!this.scenario.teardown && !this.sim.over) {
      const q: Cmd = { t: 'quiesce' };
      this.cmds.push(q);
      this.sim.exec(q);
    }
    this.sim.finish();
  }
}
