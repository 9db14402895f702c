// One run: boot a policy on a modelled kernel, map each command to an
// action the engine allows (spec/kernel/sched.ts decides what may run;
// nothing here does), then tear down, settle and judge the end state.
// A command whose own action is not enabled falls back to the nearest one
// that is (same kind on the next CPU, then any progress); the action that
// ran is recorded as a command (`log`), so a saved counterexample reads as
// what happened.
import { AbstractAllocator } from '../model/allocator.ts';
import type { InvariantName } from '../model/invariants.ts';
import { resetContextIds, type Context } from '../spec/kernel/context.ts';
import { Kernel, type Tracer } from '../spec/kernel/kernel.ts';
import { allowed, begin, canStart, current, fire, progress, runCpu, runnable, start, tick, wakeTimers, type Action, type ProgBody } from '../spec/kernel/sched.ts';
import { Violation } from '../spec/kernel/types.ts';
import { report } from '../spec/kernel/events.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Obj } from '../spec/kernel/obj.ts';
import { FAULT_KINDS, type FaultKind } from '../spec/kernel/slab.ts';
import { OPS, refused, runAction, toAction, type Cmd, type GenCtx, type Op } from './commands.ts';
import { allocOptions, kernelConfig, type CheckConfig } from './config.ts';
import { installSituations, situationList } from './coverage.ts';
import { fingerprint } from './fingerprint.ts';
import { PolicyError } from './errors.ts';
import { bpfProg, hook, mapFree } from './programs.ts';

export interface SimOptions {
  tracer?: Tracer | null;
  situations?: Map<string, number> | null;
  /** distinct state fingerprints seen (shared across runs) */
  states?: Set<number> | null;
  /** extra invariants to check beyond what the policy promises */
  promise?: readonly InvariantName[];
  /** known findings among OBSERVATIONS: noted (`tolerated`) and the run
   *  goes on, instead of ending the run */
  tolerate?: ReadonlySet<string>;
}

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

/** The actions of a run that carry no object: per CPU, and the rest. */
export interface Slots {
  step: Action[];
  softirq: Action[];
  task: Action[];
  nmi: Action[];
  burst: Action[];
  destroy: Action[];
  gp: { rcu: Action; rcu_tasks_trace: Action };
  fault: Record<FaultKind, Action>;
  quiesce: Action;
}

function slotsFor(cpus: number): Slots {
  const per = <A extends Action>(f: (cpu: number) => A): A[] => Array.from({ length: cpus }, (_, cpu) => f(cpu));
  return {
    step: per((cpu) => ({ kind: 'step', cpu })),
    softirq: per((cpu) => ({ kind: 'softirq', cpu })),
    task: per((cpu) => ({ kind: 'prog', cpu, level: 'task' })),
    nmi: per((cpu) => ({ kind: 'prog', cpu, level: 'nmi' })),
    burst: per((cpu) => ({ kind: 'burst', cpu })),
    destroy: per((cpu) => ({ kind: 'destroy', cpu })),
    gp: { rcu: { kind: 'gp', flavour: 'rcu' }, rcu_tasks_trace: { kind: 'gp', flavour: 'rcu_tasks_trace' } },
    fault: Object.fromEntries(FAULT_KINDS.map((f) => [f, { kind: 'fault', fault: f }])) as Record<FaultKind, Action>,
    quiesce: { kind: 'quiesce' },
  };
}

const GP_RCU: Cmd = { t: 'gp', flavour: 'rcu' };
const GP_TRACE: Cmd = { t: 'gp', flavour: 'rcu_tasks_trace' };

export class Sim {
  readonly k: Kernel;
  readonly model: AbstractAllocator;
  readonly state: unknown;
  /** the map's teardown began (the kernel's: no program starts after it) */
  get tearingDown(): boolean {
    return this.k.tearingDown;
  }
  set tearingDown(v: boolean) {
    this.k.tearingDown = v;
  }
  /** teardown finished and nothing is left to run: later commands are
   *  skipped (their fast-check precondition fails) */
  over = false;
  commands = 0;
  /** commands generated after the run was over (skipped) */
  skipped = 0;
  effective = 0;
  /** what the last command did, for traces */
  did = '';
  /** the objects the last command's program gave back (data for traces) */
  freed: string[] = [];
  /** each executed command as the action it became (fallbacks resolved) */
  readonly log: Cmd[] = [];
  /** tolerated known findings, with the commands that led to each */
  readonly tolerated: { v: Violation; log: Cmd[] }[] = [];
  private readonly gen: GenCtx;
  /** the actions the command table maps commands to, made once per run
   *  (actions are data; a command names one of these, or an irq_work's or
   *  work's, which it makes) */
  readonly slots: Slots;

  constructor(
    readonly policy: Policy<unknown>,
    readonly cfg: CheckConfig,
    readonly opts: SimOptions = {},
  ) {
    resetContextIds();
    this.k = new Kernel(kernelConfig(cfg));
    this.k.tracer = opts.tracer ?? null;
    // a traced run keeps its events: each step's footprint is recorded, so
    // the trace names the objects a step touched as data
    if (this.k.tracer) this.k.record = [];
    // step labels only for a tracer or the exhaustive mode's history
    this.k.quiet = true;
    // a design that does not declare its footprints exact: every step
    // counts as touching everything (spec/kernel/events.ts)
    this.k.coarse = policy.footprints !== 'exact';
    this.k.situations = opts.situations ?? null;
    this.gen = genCtx(policy, cfg);
    this.slots = slotsFor(cfg.cpus);
    this.model = new AbstractAllocator(this.k, [...(policy.promises ?? []), ...(opts.promise ?? [])], policy.header);
    if (policy.sleepableReadersTakeRcu) this.model.traceReaders = false;
    installSituations(this.k, situationList(policy));
    const dead = policy.cpuDead;
    this.k.driver = {
      faults: this.gen.faults,
      nmiPrograms: !this.gen.syscall,
      cpuDead: dead ? (x, cpu) => hook(x, policy, 'cpuDead', () => dead(x, this.state, cpu)) : null,
      mapFree: (x) => mapFree(x, policy, this.state, this.model),
    };
    if (opts.tolerate?.size) {
      this.model.tolerate = opts.tolerate;
      this.model.onTolerated = (v) => this.tolerated.push({ v, log: [...this.log] });
    }
    try {
      this.state = policy.init(this.k, allocOptions(cfg));
    } catch (e) {
      if (e instanceof Violation) throw e;
      throw new PolicyError(policy.name, 'init', 'threw at boot', e);
    }
  }

  private get n(): number {
    return this.cfg.cpus;
  }

  /** Fault kinds this run injects: the policy's, within the config. */
  get faultKinds(): FaultKind[] {
    return [...this.gen.faults];
  }

  // ---- what each command's action does, once allowed() admitted it ----
  // (harness/commands.ts maps a command to its action; that mapping and
  // spec/kernel/sched.ts allowed() are the only "may it run?" check)

  /** Run c's own action on cpu (the command's CPU, or the next one when
   *  that one had nothing to do); null when the rules do not allow it. */
  tryCmd(c: Cmd, cpu: number): string | null {
    const a = toAction(this, c, cpu);
    if (a === null || !allowed(this.k, a)) {
      refused(this, c);
      return null;
    }
    return runAction(this, c, a);
  }

  /** Start a BPF program (task level or NMI) on cpu (allowed() admitted
   *  it); run `steps` steps of the CPU (0: to the program's end, or until
   *  it sleeps). A lookup with `hold` keeps its object that much longer
   *  (harness/programs.ts). */
  prog(cpu: number, level: 'task' | 'nmi', op: Op, arg: number, count: number, sleepable: boolean, steps: number, onAlloc?: (o: Obj | null) => void, hold?: number): string {
    const k = this.k;
    const owned = this.model.owned;
    if (owned.length === 0 || !this.gen.ops.includes(op)) op = 'alloc';
    const objs: Obj[] = [];
    if (op !== 'alloc') {
      const first = arg % owned.length;
      const want = op === 'lookup' ? 1 : Math.min(count, owned.length);
      for (let i = 0; i < want; i++) objs.push(owned[(first + i) % owned.length]!);
    }
    if (op === 'free' || op === 'free_rcu') {
      for (const o of objs) this.model.released(o, op === 'free_rcu');
    }
    const req = this.request(arg);
    if (op !== 'lookup' || level === 'nmi') hold = undefined;
    const prog: ProgBody = {
      kind: level === 'nmi' ? 'nmi' : this.gen.syscall ? 'syscall' : 'prog',
      body: (y) => bpfProg(y, this.policy, this.state, this.model, { op, count, objs, size: req.size, align: req.align, sleepable, onAlloc, hold }),
    };
    const eff: Cmd = level === 'nmi' ? { t: 'nmi', cpu, op, arg } : hold !== undefined ? { t: 'prog', cpu, op, arg, count, sleepable, steps, hold } : { t: 'prog', cpu, op, arg, count, sleepable, steps };
    if (op === 'free' || op === 'free_rcu') this.freed = objs.map((o) => o.name);
    fire(k, { kind: 'prog', cpu, level, prog }, level === 'nmi' ? 0 : steps, (x) => {
      x!.progOp = op;
      if (k.keepHistory) x!.started = `${op} x${count} [${objs.map((o) => o.id).join(',')}] ${req.size}/${req.align ?? ''}${sleepable ? ' sleepable' : ''}${hold !== undefined ? ` hold ${hold}` : ''}`;
      this.did = `${x!.label} on cpu${cpu}: ${op}${op === 'alloc' && count > 1 ? ` x${count}` : ''}${objs.length ? ` ${objs.map((o) => o.name).join(' ')}` : ''}`;
      this.ran(eff);
    });
    return this.did;
  }

  /** The size (and alignment) program #arg asks for. */
  private request(arg: number): { size: number; align?: number } {
    const rs = this.policy.requests;
    if (rs && rs.length) return rs[arg % rs.length]!;
    const sizes = this.cfg.allocSizes;
    return { size: sizes.length ? sizes[arg % sizes.length]! : this.cfg.size };
  }

  /** n times: one step of cpu, then an NMI program on it. */
  burst(cpu: number, n: number, op: Op, arg: number): string {
    const k = this.k;
    // logged first: a violation inside the burst replays from this entry
    this.ran({ t: 'burst', cpu, n, op, arg });
    const saved = this.log.length;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      if (runCpu(k, cpu, 1) === 0 && i > 0) break;
      if (!allowed(k, this.slots.nmi[cpu]!)) break;
      const d = this.prog(cpu, 'nmi', op, arg, 1, false, 0);
      this.log.length = saved;
      parts.push(d);
    }
    this.did = `burst on cpu${cpu}: ${parts.join('; ') || 'steps'}`;
    return this.did;
  }

  /** n rounds of a producer and a consumer: a program on cpu allocates
   *  `count` objects, a program on the next online CPU frees them, each
   *  run to its end (with what it raises), so one CPU allocates and
   *  another frees, repeatedly (MemoryBound). */
  handoff(cpu: number, n: number, count: number): string {
    const k = this.k;
    // logged first: a violation inside replays from this entry
    this.ran({ t: 'handoff', cpu, n, count });
    const saved = this.log.length;
    let to = -1;
    for (let d = 1; d < this.n && to < 0; d++) if (k.cpus[(cpu + d) % this.n]!.online) to = (cpu + d) % this.n;
    let rounds = 0;
    for (let i = 0; i < n && to >= 0; i++) {
      if (!allowed(k, this.slots.task[cpu]!)) break;
      const got: Obj[] = [];
      this.prog(cpu, 'task', 'alloc', 0, count, false, 0, (o) => o && got.push(o));
      this.log.length = saved;
      const owned = this.model.owned;
      const mine = got.filter((o) => owned.includes(o));
      if (!mine.length || !allowed(k, this.slots.task[to]!)) break;
      // free x mine.length, from the first object this round allocated on
      this.prog(to, 'task', 'free', owned.indexOf(mine[0]!), mine.length, false, 0);
      this.log.length = saved;
      rounds++;
    }
    return (this.did = `handoff cpu${cpu} → cpu${to}: ${rounds} round${rounds === 1 ? '' : 's'}`);
  }

  /** The CPU's runnable context (or its pending interrupt first) takes
   *  `steps` steps (0: runs to its end). */
  step(cpu: number, steps: number): string {
    fire(this.k, this.slots.step[cpu]!, steps, (x) => {
      this.did = x ? `${x.label} on cpu${cpu} runs` : `cpu${cpu} takes its interrupt`;
      this.ran({ t: 'step', cpu, steps });
    });
    return this.did;
  }

  /** An action of the kernel's own progress: fired, logged as eff. */
  act(a: Action, steps: number, eff: Cmd, what: (x: Context | null) => string): string {
    fire(this.k, a, steps, (x) => {
      this.did = what(x);
      this.ran(eff);
    });
    return this.did;
  }

  fault(kind: FaultKind): string {
    if (kind === 'cpu_offline') return this.hotplug();
    this.k.slab.armed[kind]++;
    this.ran({ t: 'fault', kind });
    const what = { kmalloc: 'kmalloc', percpu: '__alloc_percpu_gfp', trylock: 'spin_trylock', page: 'alloc_pages_node' }[kind] ?? kind;
    return (this.did = `next ${what} fails`);
  }

  /** The last CPU goes offline (sched.ts hotplugAllowed: nothing runs or
   *  waits to run on it) and the policy's CPU-dead callback runs on cpu0;
   *  or it comes back online. */
  private hotplug(): string {
    const k = this.k;
    const c = k.cpus[this.n - 1]!;
    if (c.online) {
      const dead = k.driver!.cpuDead;
      c.online = false;
      k.saw('fault:cpu_offline');
      this.ran({ t: 'fault', kind: 'cpu_offline' });
      this.did = `cpu${c.id} goes offline`;
      if (dead) {
        const x = start(k, 0, 'task', 'cpuhp', (y) => dead(y, c.id));
        this.did += `; ${x.label} on cpu0 runs the CPU-dead callback`;
        runCpu(k, 0, 0, x);
        // the hook ran to its end: the dead CPU's caches are empty
        if (!k.cpus[0]!.stack.includes(x)) this.model.cpuDead(c.id);
      }
      return this.did;
    }
    c.online = true;
    this.ran({ t: 'fault', kind: 'cpu_offline' });
    return (this.did = `cpu${c.id} comes back online`);
  }

  /** Programs finish, then map_free starts on cpu (or the next CPU where a
   *  task may start) and runs `steps` steps. */
  destroy(cpu: number, steps: number): string {
    const k = this.k;
    // logged before anything runs: finishing the programs changes the state
    // (and may break an invariant) even when map_free cannot start yet
    this.ran({ t: 'destroy', cpu, steps });
    this.finishPrograms();
    let at = -1;
    for (let d = 0; d < this.n && at < 0; d++) if (canStart(k, (cpu + d) % this.n, 'task')) at = (cpu + d) % this.n;
    if (at < 0) return (this.did = 'programs finish; map_free cannot start yet');
    this.tearingDown = true;
    k.tracer?.note(null, '» teardown');
    const x = start(k, at, 'task', 'map_free', (y) => k.driver!.mapFree(y));
    this.did = `map_free on cpu${at}`;
    runCpu(k, at, steps, steps === 0 ? x : null);
    return this.did;
  }

  /** Fairness: programs finish and everything pending runs until nothing
   *  is left; then the liveness invariants are judged. */
  quiesce(): string {
    const k = this.k;
    this.ran({ t: 'quiesce' });
    this.did = 'everything pending runs';
    this.finishPrograms();
    this.settle();
    if (this.tearingDown) return this.did;
    this.model.quiescent(true);
    this.model.idle();
    // RefillProgress: an allocation that fails raises a refill; once that
    // refill has run with no injected fault and slab room, an allocation
    // on the same CPU must succeed
    const slab = k.slab;
    for (let cpu = 0; cpu < this.n; cpu++) {
      let clean = false;
      for (let attempt = 0; attempt < 3; attempt++) {
        if (!allowed(k, this.slots.task[cpu]!)) break;
        const faults = slab.faultsHit + slab.exhausted;
        let got: Obj | null | undefined;
        const saved = this.log.length;
        this.prog(cpu, 'task', 'alloc', 0, 1, false, 0, (o) => (got = o));
        this.log.length = saved;
        this.settle();
        if (got !== null) break;
        if (clean) this.model.allocFailedAfterCleanRefill(cpu);
        clean = slab.faultsHit + slab.exhausted === faults && slab.live < k.cfg.maxObjects && slab.armed.kmalloc === 0 && slab.armed.percpu === 0;
      }
    }
    return (this.did = 'everything pending runs; liveness judged');
  }

  /** Any progress at all, in a fixed order starting at cpu: the commands
   *  of the kernel's own progress, each through the table. */
  private anyProgress(cpu: number, steps: number): string | null {
    const n = this.n;
    // the commands are data: one of each serves every CPU tried
    const step: Cmd = { t: 'step', cpu, steps };
    for (let d = 0; d < n; d++) {
      const r = this.tryCmd(step, (cpu + d) % n);
      if (r) return r;
    }
    const irq: Cmd = { t: 'irq', cpu, steps };
    const softirq: Cmd = { t: 'softirq', cpu, steps };
    const kworker: Cmd = { t: 'kworker', cpu, steps };
    for (let d = 0; d < n; d++) {
      const c = (cpu + d) % n;
      const r = this.tryCmd(irq, c) ?? this.tryCmd(softirq, c) ?? this.tryCmd(kworker, c);
      if (r) return r;
    }
    return this.tryCmd(GP_RCU, 0) ?? this.tryCmd(GP_TRACE, 0);
  }


  private ran(c: Cmd): void {
    this.log.push(c);
  }

  /** Execute one command; true if it changed the state. */
  exec(c: Cmd): boolean {
    this.commands++;
    // the timer interrupt: a sleep of n ticks spans the rest of the
    // command it began in and n-1 commands after it
    tick(this.k);
    const cpu = 'cpu' in c ? c.cpu % this.n : 0;
    let did: string | null = null;
    // resolve (c's own action on its CPU, then the next CPUs), fall back
    // (any progress, then a program), fire
    this.guard(() => {
      did = this.tryCmd(c, cpu);
      if (did === null && 'cpu' in c) {
        for (let d = 1; d < this.n && did === null; d++) did = this.tryCmd(c, (cpu + d) % this.n);
      }
      if (did === null) did = this.anyProgress(cpu, 'steps' in c ? c.steps : 0);
      if (did === null && c.t !== 'prog') did = this.tryCmd({ t: 'prog', cpu, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 }, cpu);
    });
    this.did = did ?? 'nothing to do';
    if (did !== null) this.effective++;
    if (this.k.quiescent) {
      this.model.quiescent(!this.tearingDown);
      if (this.tearingDown && !this.pending()) this.over = true;
    }
    this.opts.states?.add(fingerprint(this.k, this.model));
    return did !== null;
  }

  /** Anything a context throws that is not a violation is the policy's
   *  fault: one line naming the policy, the kernel function and the step. */
  guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof Violation || e instanceof PolicyError) throw e;
      const x = current.x;
      current.x = null;
      // the spec dereferenced NULL: in the kernel, an oops
      if (e instanceof TypeError && x && /(read|set) properties of (null|undefined)/.test(e.message)) {
        report('oops', `BUG: NULL pointer dereference in ${x.fn} on cpu${x.cpu} (${x.label}): ${e.message}`);
      }
      const where = x ? `threw at step ${this.k.steps} (${x.label} on cpu${x.cpu} in ${x.fn})` : `threw at step ${this.k.steps}`;
      throw new PolicyError(this.policy.name, x ? (x.fns[0] ?? x.label) : 'run', where, e);
    }
  }

  /** Queued irq_work, work items or RCU callbacks that have yet to run. */
  pending(): boolean {
    const k = this.k;
    return k.pendingIrqWork.size > 0 || k.claimedIrqWork.size > 0 || k.pendingWork.size > 0 || k.rcu.rcu.inflight.size > 0 || k.rcu.trace.inflight.size > 0;
  }

  /** Run everything that can run until nothing can; report what is stuck. */
  settle(): void {
    const k = this.k;
    // when nothing else can run, time passes: a timed sleep ends
    for (let rounds = 0; this.anyProgressSilently() || wakeTimers(k); rounds++) {
      if (rounds > k.cfg.stepLimit) report('livelock', 'the system never settles (livelock)');
    }
    const stuck: Context[] = [];
    for (const c of k.cpus) stuck.push(...c.stack);
    if (stuck.length) {
      report(
        'stuck',
        stuck.map((x) => `${x.label} on cpu${x.cpu} stuck in ${x.fn}${x.waitWhat ? ` (${x.waitWhat})` : ''}`).join('; '),
      );
    }
    if (k.claimedIrqWork.size || k.pendingIrqWork.size) {
      const w = [...k.claimedIrqWork, ...k.pendingIrqWork][0]!;
      report('never-runs', `${w.name} (${w.fnName}) is pending but can never run${w.claimedBy ? `: claimed by ${w.claimedBy.label}, never queued` : ''}`);
    }
  }

  /** Let every BPF program run to its end (and whatever sits above one on
   *  its CPU), starting nothing new: the map is freed only after the last
   *  program that uses it has finished. */
  private finishPrograms(): void {
    const k = this.k;
    const progs = (): boolean => {
      for (const c of k.cpus) for (const x of c.stack) if (x.isProg) return true;
      return false;
    };
    while (progs()) {
      let progress = false;
      for (let cpu = 0; cpu < this.n; cpu++) {
        const s = k.cpus[cpu]!.stack;
        if (!s.some((x) => x.isProg)) continue;
        if (runCpu(k, cpu, 0, runnable(k, cpu) ?? null) > 0) progress = true;
      }
      if (!progress && this.anyProgressSilently() === false && !wakeTimers(k)) this.settle(); // reports what is stuck
    }
  }

  /** One enabled action to its end, if any; not logged as a command.
   *  Contexts already running first, then new ones, then grace periods. */
  private anyProgressSilently(): boolean {
    const a = progress(this.k);
    if (!a.length) return false;
    const pick = a.find((x) => x.kind === 'step') ?? a.find((x) => x.kind !== 'gp') ?? a[0]!;
    const x = begin(this.k, pick);
    if (x) runCpu(this.k, x.cpu, 0, x);
    return true;
  }

  /** The end of a run: programs finish, the map is torn down (unless a
   *  destroy command began it) while irq_work, kworkers and RCU callbacks
   *  may still be in flight, then everything settles and nothing may be
   *  left behind. `judged`, asked once the programs have finished, may
   *  stop it there: the caller has already judged the rest of the run from
   *  this state (the exhaustive mode's memo). */
  finish(judged?: () => boolean): void {
    const k = this.k;
    this.guard(() => {
      k.tracer?.note(null, '» end of commands: programs finish');
      this.finishPrograms();
      if (judged?.()) return;
      if (k.quiescent) this.model.quiescent(!this.tearingDown);
      if (!this.tearingDown) {
        k.tracer?.note(null, '» teardown');
        let cpu = 0;
        while (cpu < this.n - 1 && !canStart(k, cpu, 'task')) cpu++;
        if (!canStart(k, cpu, 'task')) {
          this.settle();
          cpu = 0;
        }
        this.tearingDown = true;
        const x = start(k, cpu, 'task', 'map_free', (y) => k.driver!.mapFree(y));
        runCpu(k, cpu, 0, x);
      }
      this.settle();
      this.model.quiescent(false);
      this.model.tornDown();
    });
  }
}
