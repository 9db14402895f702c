// The execution rules of BRIEF §1, one function per rule, and the two
// calls the harness drives the machine with: enabled(k) lists what may run
// now, fire(k, action) runs it. Which enabled action to take is the
// strategy's business (harness/), never this file's.
//
//   R1 top only        only the top of a CPU's stack runs ...
//   R5 sleeping waits  ... except that below a task in a sleeping wait the
//                      task it preempted runs on (a spinning wait does not)
//   R6 wake-up         a task whose wait ended resumes only where the task
//                      running beneath it may be preempted
//   R2 IRQs off        no hardirq, softirq or new task starts on a CPU whose
//                      IRQs are off
//   R3 preemption off  no task preempts a task that holds a spinlock, has
//                      IRQs off or preemption disabled
//   R4 NMI             an NMI may hit any atomic step; NMIs do not nest
//   R7 RT kthreads     with PREEMPT_RT irq_work runs as a task under R3
//   R8 IPI             a queued irq_work fires at once when IRQs are on on
//                      its CPU (without PREEMPT_RT): nothing else but an
//                      NMI runs there before it
//   R9 hotplug         nothing new starts on an offline CPU
import { NO_LOCS, type Context } from './context.ts';
import { runIrqWork, type IrqWork } from './irq_work.ts';
import type { Cpu, Kernel } from './kernel.ts';
import { invokeCallback, type Flavour } from './rcupdate.ts';
import { waitUntil } from './spinlock.ts';
import { LEVEL_RANK, shared, type Gen, type Level } from './types.ts';
import { runWork, workRunsOn, type Work } from './workqueue.ts';
import { footprintOf, type Event, report } from './events.ts';
import type { FaultKind } from './slab.ts';

/** The context executing now: the step that runs, the primitive that
 *  touches a freed structure's field (spec/kernel/fields.ts) */
export const current = shared('current', () => ({ x: null as Context | null, rec: null as Context | null }));

/** R3: may a task on x's CPU preempt x now? */
export function preemptible(k: Kernel, x: Context): boolean {
  return x.level === 'task' && !k.cpus[x.cpu]!.irqsOff && x.spinlocks === 0 && x.preemptCount === 0;
}

/** R5: the context the CPU executes beneath stack[i]: the first one down
 *  that is not in a sleeping wait. */
function beneath(s: readonly Context[], i: number): Context | undefined {
  for (let j = i - 1; j >= 0; j--) if (!s[j]!.sleeping) return s[j];
  return undefined;
}

/** R8: a queued irq_work this CPU must take before anything else runs. */
export function interruptPending(k: Kernel, cpu: number): IrqWork | null {
  if (k.cfg.preemptRt || k.pendingIrqWork.size === 0) return null;
  const c = k.cpus[cpu]!;
  if (c.irqsOff) return null;
  const s = c.stack;
  const top = s[s.length - 1];
  if (top !== undefined && LEVEL_RANK[top.level] >= LEVEL_RANK.hardirq) return null;
  for (const w of k.pendingIrqWork) if (w.cpu === cpu && !w.busy) return w;
  return null;
}

/** R1, R5, R6, R8: the context that takes the CPU's next step, if any. */
export function runnable(k: Kernel, cpu: number): Context | undefined {
  if (interruptPending(k, cpu)) return undefined;
  return runsOn(k, k.cpus[cpu]!.stack);
}

/** R1, R5, R6 on a CPU with no interrupt pending. */
function runsOn(k: Kernel, s: readonly Context[]): Context | undefined {
  for (let i = s.length - 1; i >= 0; i--) {
    const x = s[i]!;
    if (!x.sleeping) return x.runnable ? x : undefined; // runs, or spins in place
    if (x.runnable) {
      // woken: it runs once what executes beneath it may be preempted
      const y = beneath(s, i);
      if (y === undefined || preemptible(k, y)) return x;
    }
  }
  return undefined;
}

/** R2, R3, R4, R8, R9: may a new context of this level start on cpu now? */
export function canStart(k: Kernel, cpu: number, level: Level): boolean {
  const c = k.cpus[cpu]!;
  if (!c.online) return false;
  const s = c.stack;
  const top = s[s.length - 1];
  switch (level) {
    case 'nmi':
      for (const x of s) if (x.level === 'nmi') return false;
      return true;
    case 'hardirq':
      return !c.irqsOff && (top === undefined || LEVEL_RANK[top.level] < LEVEL_RANK.hardirq);
    case 'softirq':
      return !c.irqsOff && (top === undefined || top.level === 'task') && !interruptPending(k, cpu);
    case 'task': {
      if (top === undefined) return true;
      if (top.level !== 'task' || s.length >= k.cfg.maxTaskNesting || interruptPending(k, cpu)) return false;
      const y = top.sleeping ? beneath(s, s.length - 1) : top;
      return y === undefined || preemptible(k, y);
    }
  }
}

/** Push a new context on cpu running body (caller checked canStart). */
export function start(k: Kernel, cpu: number, level: Level, label: string, body: (x: Context) => Gen<unknown>): Context {
  const x = push(k, cpu, level, label);
  x.gen = body(x);
  k.tracer?.note(x, 'starts');
  return x;
}

/** start() of a harness program: its body is a method of the program. */
function startProg(k: Kernel, cpu: number, level: Level, p: ProgBody): Context {
  const x = push(k, cpu, level, k.label(p.kind));
  x.gen = p.body(x);
  k.tracer?.note(x, 'starts');
  return x;
}

/** A new context on top of cpu's stack (a hardirq turns IRQs off). */
function push(k: Kernel, cpu: number, level: Level, label: string): Context {
  const x = k.context(cpu, level, label);
  const c = k.cpus[cpu]!;
  if (level === 'hardirq') {
    x.savedIrqsOff = c.irqsOff;
    c.irqsOff = true;
  }
  c.stack.push(x);
  return x;
}

function finish(k: Kernel, x: Context): void {
  const c = k.cpus[x.cpu]!;
  const i = c.stack.lastIndexOf(x);
  for (let j = i + 1; j < c.stack.length; j++) {
    if (!c.stack[j]!.sleeping) throw new Error(`spec bug: ${x.label} finished under a running context on cpu${x.cpu}`);
  }
  if (i === c.stack.length - 1) c.stack.pop();
  else c.stack.splice(i, 1);
  x.done = true;
  if (x.level === 'hardirq') c.irqsOff = x.savedIrqsOff;
  else if (c.irqsOff && (x.level === 'task' || x.level === 'softirq') && c.stack.length === 0) {
    report('warn', `${x.label} on cpu${x.cpu} returned with IRQs disabled`);
  }
  if (x.spinlocks > 0) report('warn', `${x.label} on cpu${x.cpu} returned holding ${x.spinlocks} spinlock(s)`);
}

/** One atomic step of x (caller checked runnable). False if x can only wait.
 *  What the step did is on x until the step ends (its object, target and,
 *  while someone records events, its footprint: spec/kernel/events.ts);
 *  whoever reads it clears it (the tracer, the coverage counter). The
 *  quiet path here is the hot path of exploration: it does nothing more
 *  than step; a recorded step goes through stepRecorded(). */
export function step(k: Kernel, x: Context): boolean {
  if (x.waitFor !== null && !x.waitFor()) return false;
  if (k.record !== null) return stepRecorded(k, x, k.record);
  current.x = x;
  const r = x.gen!.next();
  current.x = null;
  k.steps++;
  x.nsteps++;
  if (r.done) {
    k.tracer?.step(x, 'returns');
    finish(k, x);
  } else {
    if (k.tracer) k.tracer.step(x, r.value);
    if (k.keepHistory) (x.history ??= []).push(r.value);
  }
  if (k.onStep !== null) k.onStep(x);
  return true;
}

/** A step whose event is kept: its footprint is stored, its Event built. */
function stepRecorded(k: Kernel, x: Context, record: Event[]): boolean {
  if (k.beforeStep !== null) k.beforeStep(x);
  if (x.rd === NO_LOCS) {
    x.rd = [];
    x.wr = [];
  }
  endStep(x);
  x.rec = true;
  current.x = x;
  current.rec = x;
  let r: IteratorResult<string, unknown>;
  try {
    r = x.gen!.next();
  } finally {
    current.x = null;
    current.rec = null;
    x.rec = false;
  }
  k.steps++;
  x.nsteps++;
  if (r.done) {
    if (x.op === '') x.op = 'return';
    record.push(eventOf(k, x, 'returns'));
    k.tracer?.step(x, 'returns');
    finish(k, x);
  } else {
    record.push(eventOf(k, x, r.value));
    if (k.tracer) k.tracer.step(x, r.value);
    if (k.keepHistory) (x.history ??= []).push(r.value);
  }
  if (k.onStep !== null) k.onStep(x);
  endStep(x);
  return true;
}

/** The event of the step x just took. */
export function eventOf(k: Kernel, x: Context, label: string): Event {
  const { reads, writes } = footprintOf(x, k.coarse);
  return {
    seq: k.steps,
    ctx: x.label,
    cpu: x.cpu,
    level: x.level,
    op: x.op === '' ? 'code' : x.op,
    obj: x.obj,
    act: x.act,
    target: x.target,
    touched: x.touched,
    fns: x.fns.slice(),
    reads,
    writes,
    label,
  };
}

/** Clear what a recorded step left on x: the next step records its own. */
function endStep(x: Context): void {
  x.op = '';
  x.target = null;
  x.touchedText = '';
  x.obj = null;
  x.act = null;
  x.nrd = 0;
  x.nwr = 0;
}

// ---- the actions ----
//
// Everything that can happen on the machine is an Action: the kernel's own
// progress (a step, an interrupt, a softirq, a kworker, the end of a grace
// period) and what the harness drives it with (a program starts, a burst of
// NMIs, the map's teardown, a fault, quiescence). allowed(k, a) is the one
// rule for "may it run now?"; enabled(k) lists the allowed actions; fire(k,
// a, n) runs one and returns its events. What runs inside a program, the
// teardown and the CPU-dead callback is the harness's (Kernel.driver);
// which enabled action to take is the strategy's.

/** A program the harness starts: its body and how it is named. */
export interface ProgBody {
  /** the context's label kind: prog, syscall or nmi */
  readonly kind: string;
  body(x: Context): Gen<unknown>;
}

export type Action =
  /** the context runnable() names on cpu takes a step (fired with an
   *  interrupt pending there, the CPU takes the interrupt first: R8) */
  | { kind: 'step'; cpu: number }
  /** a queued irq_work runs on its CPU (hardirq, or the RT kthread) */
  | { kind: 'irq'; cpu: number; work: IrqWork }
  /** the next ready RCU callback of cpu (or of an offline CPU) runs in softirq */
  | { kind: 'softirq'; cpu: number }
  /** a kworker runs a pending work item on cpu */
  | { kind: 'kworker'; cpu: number; work: Work }
  /** the current grace period of a flavour ends */
  | { kind: 'gp'; flavour: Flavour }
  /** a BPF program starts on cpu: task level, or a perf-event program in
   *  NMI (a slot in enabled(); the harness gives the body to fire()) */
  | { kind: 'prog'; cpu: number; level: 'task' | 'nmi'; prog?: ProgBody }
  /** one step of cpu, then an NMI program there, repeated (the harness's
   *  burst command fires it step by step) */
  | { kind: 'burst'; cpu: number }
  /** programs finish, then map_free starts on cpu or the next CPU where a
   *  task may start */
  | { kind: 'destroy'; cpu: number }
  /** arm an injected fault, or take the last CPU offline (or back online) */
  | { kind: 'fault'; fault: FaultKind }
  /** fairness: programs finish and everything pending runs until nothing
   *  can (the harness judges liveness after it) */
  | { kind: 'quiesce' };

/** What the harness plugs into the machine (Kernel.driver): the faults it
 *  may inject, whether perf-event programs attach, the CPU-dead callback
 *  the design registered, and the map's teardown. Without a driver the
 *  machine runs only its own progress (enabled() lists nothing else). */
export interface Driver {
  readonly faults: readonly FaultKind[];
  /** perf-event programs may run in NMI (not for syscall callers) */
  readonly nmiPrograms: boolean;
  /** cpuhp's teardown callback (SLUB's slub_cpu_dead()), if any */
  readonly cpuDead: ((x: Context, cpu: number) => Gen<void>) | null;
  /** the map's teardown (htab_map_free, then the policy's destroy) */
  mapFree(x: Context): Gen<void>;
}

/** The irq_work cpu may run now: R8's pending one, or (R7) on PREEMPT_RT a
 *  queued one when a task may start there. */
export function irqWorkFor(k: Kernel, cpu: number): IrqWork | null {
  if (!k.cfg.preemptRt) return interruptPending(k, cpu);
  if (!canStart(k, cpu, 'task')) return null;
  for (const w of k.pendingIrqWork) if (w.cpu === cpu && !w.busy) return w;
  return null;
}

/** Ready callbacks of cpu, or of an offline CPU (rcutree_migrate_callbacks). */
export function readyCallbackOn(k: Kernel, cpu: number): boolean {
  if (k.rcu.hasReady(cpu)) return true;
  for (const c of k.cpus) if (!c.online && c.id !== cpu && k.rcu.hasReady(c.id)) return true;
  return false;
}

export function workFor(k: Kernel, cpu: number): Work | null {
  if (k.pendingWork.size === 0 || !canStart(k, cpu, 'task')) return null;
  for (const w of k.pendingWork) if (workRunsOn(k, w, cpu)) return w;
  return null;
}

/** R9 and cpuhp: the last CPU may go offline when nothing runs or waits to
 *  run on it (its tasks migrate, its irq_work is flushed first) and the
 *  CPU-dead callback, if any, can start on cpu0; an offline CPU may come
 *  back at any time. */
export function hotplugAllowed(k: Kernel): boolean {
  const c = k.cpus[k.cfg.cpus - 1]!;
  if (!c.online) return true;
  if (c.stack.length) return false;
  for (const w of k.pendingIrqWork) if (w.cpu === c.id) return false;
  for (const w of k.claimedIrqWork) if (w.cpu === c.id) return false;
  return !(k.driver?.cpuDead && (k.tearingDown || !canStart(k, 0, 'task')));
}

/** The one "may it run now?" rule of every action. */
export function allowed(k: Kernel, a: Action): boolean {
  switch (a.kind) {
    case 'step':
      return runnable(k, a.cpu) !== undefined;
    case 'irq': {
      const w = irqWorkFor(k, a.cpu);
      return w !== null && w === a.work;
    }
    case 'softirq':
      return canStart(k, a.cpu, 'softirq') && readyCallbackOn(k, a.cpu);
    case 'kworker': {
      const w = workFor(k, a.cpu);
      return w !== null && w === a.work;
    }
    case 'gp':
      return k.rcu.canEndGp(a.flavour);
    case 'prog':
      return k.driver !== null && !k.tearingDown && (a.level === 'task' || k.driver.nmiPrograms) && canStart(k, a.cpu, a.level);
    case 'burst':
      return (
        k.driver !== null &&
        k.driver.nmiPrograms &&
        !k.tearingDown &&
        canStart(k, a.cpu, 'nmi') &&
        (runnable(k, a.cpu) !== undefined || interruptPending(k, a.cpu) !== null)
      );
    case 'destroy':
      return k.driver !== null && !k.tearingDown;
    case 'fault':
      return k.driver !== null && k.driver.faults.includes(a.fault) && (a.fault !== 'cpu_offline' || hotplugAllowed(k));
    case 'quiesce':
      return k.driver !== null;
  }
}

/** The kernel's own progress the rules allow now, in a fixed order: CPU
 *  by CPU (its interrupt, its runnable context, a ready callback, a
 *  kworker), then the grace periods that may end. What runs while the
 *  machine settles; each is one allowed() admits. */
export function progress(k: Kernel): Action[] {
  const out: Action[] = [];
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    const w = irqWorkFor(k, cpu);
    if (w) out.push({ kind: 'irq', cpu, work: w });
    if (runnable(k, cpu)) out.push({ kind: 'step', cpu });
    if (canStart(k, cpu, 'softirq') && readyCallbackOn(k, cpu)) out.push({ kind: 'softirq', cpu });
    const wk = workFor(k, cpu);
    if (wk) out.push({ kind: 'kworker', cpu, work: wk });
  }
  for (const f of GP_FLAVOURS) if (k.rcu.canEndGp(f)) out.push({ kind: 'gp', flavour: f });
  return out;
}

/** Every action the rules allow now: the kernel's own progress (above),
 *  then, with a driver, what the harness may start: programs and bursts
 *  CPU by CPU, the teardown, the faults, quiescence. A program slot
 *  carries no body (the harness gives it to fire()). */
export function enabled(k: Kernel): Action[] {
  const out = progress(k);
  if (k.driver === null) return out;
  const more: Action[] = [];
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    more.push({ kind: 'prog', cpu, level: 'task' }, { kind: 'prog', cpu, level: 'nmi' }, { kind: 'burst', cpu }, { kind: 'destroy', cpu });
  }
  for (const fault of k.driver.faults) more.push({ kind: 'fault', fault });
  more.push({ kind: 'quiesce' });
  for (const a of more) if (allowed(k, a)) out.push(a);
  return out;
}

/** Start the context an action names (for step: the one that runs), or
 *  end the grace period. Returns the context, or null for a grace period. */
export function begin(k: Kernel, a: Action): Context | null {
  switch (a.kind) {
    case 'step':
      return runnable(k, a.cpu)!;
    case 'irq':
      return startIrqWork(k, a.cpu, a.work);
    case 'softirq': {
      let cb = k.rcu.takeReady(a.cpu);
      for (const c of k.cpus) if (!cb && !c.online) cb = k.rcu.takeReady(c.id);
      const taken = cb!;
      const y = start(k, a.cpu, 'softirq', k.label('softirq'), (z) => invokeCallback(z, taken));
      if (k.keepHistory) y.started = `${taken.flavour}:${taken.name}@${taken.cpu}${taken.head ? ` ${taken.head.owner.name}.${taken.head.field}` : ''}`;
      return y;
    }
    case 'kworker': {
      const w = a.work;
      const x = start(k, a.cpu, 'task', k.label('kworker'), (y) => runWork(y, w));
      if (k.keepHistory) x.started = w.name;
      // the worker owns the item from the moment it is picked, not from its
      // first step: cancel_work_sync() in between must wait for it
      w.pending = false;
      w.running = x;
      k.pendingWork.delete(w);
      return x;
    }
    case 'gp':
      k.rcu.endGp(a.flavour);
      return null;
    case 'prog': {
      const p = a.prog;
      if (!p) throw new Error(`spec bug: a program action needs its body (${JSON.stringify({ kind: a.kind, cpu: a.cpu })})`);
      const x = startProg(k, a.cpu, a.level, p);
      x.isProg = true;
      return x;
    }
    default:
      throw new Error(`spec bug: begin(${a.kind}): fire() runs it`);
  }
}

/** The hardirq (or RT kthread) that runs w takes it off the pending list
 *  as it starts (irq_work_single() clears PENDING before calling it). */
function startIrqWork(k: Kernel, cpu: number, w: IrqWork): Context {
  const x = start(k, cpu, k.cfg.preemptRt ? 'task' : 'hardirq', k.label('irq_work'), (y) => runIrqWork(y, w));
  if (k.keepHistory) x.started = w.name;
  w.pending = false;
  w.queued = false;
  w.busy = true;
  k.pendingIrqWork.delete(w);
  return x;
}

/** Advance cpu by up to n steps (n = 0: until `target` finishes or can go
 *  no further). An interrupt R8 makes pending is taken first, as the
 *  hardware takes it; contexts that run above target on its CPU (an irq,
 *  an NMI) run as part of it, a task beneath it does not. Returns the
 *  number of steps taken. */
export function runCpu(k: Kernel, cpu: number, n: number, target: Context | null = null): number {
  const limit = n > 0 ? n : k.cfg.stepLimit;
  const s = k.cpus[cpu]!.stack;
  let i = 0;
  while (i < limit && !(target !== null && target.done)) {
    const w = interruptPending(k, cpu);
    if (w) {
      startIrqWork(k, cpu, w);
      continue;
    }
    const x = runsOn(k, s);
    if (x === undefined) break;
    if (target !== null && x !== target && s.indexOf(x) < s.indexOf(target)) break;
    step(k, x);
    i++;
  }
  if (n === 0 && i === limit && target !== null && !target.done) {
    report('livelock', `${target.label} on cpu${target.cpu} (${target.fn}) made ${limit} steps without finishing (livelock)`);
  }
  return i;
}

/** Step x (and what runs above it on its CPU) up to n steps (0: to its
 *  end): runCpu() targeted at one context. */
export function run(k: Kernel, x: Context, n: number): number {
  return runCpu(k, x.cpu, n, x);
}

const NO_EVENTS: readonly Event[] = Object.freeze([]);

/** Fire an action the rules allow (the caller asked allowed()) and run n
 *  steps of its CPU (0: what it started, to its end). `started` is told the context it starts before that
 *  context's first step (the harness logs and names it). Returns the events
 *  of the steps taken while k.record is set (none otherwise). A burst, a
 *  destroy, a fault and quiescence are the harness's to sequence (they
 *  involve its programs and its judges); fire() runs the kernel's own
 *  progress and program starts. */
export function fire(k: Kernel, a: Action, n: number, started?: (x: Context | null) => void): readonly Event[] {
  const rec = k.record;
  const from = rec === null ? 0 : rec.length;
  switch (a.kind) {
    case 'step':
      started?.(runnable(k, a.cpu) ?? null);
      if (n > 0) runCpu(k, a.cpu, n);
      else {
        while (interruptPending(k, a.cpu)) runCpu(k, a.cpu, 0, begin(k, { kind: 'irq', cpu: a.cpu, work: interruptPending(k, a.cpu)! }));
        const y = runnable(k, a.cpu);
        if (y) runCpu(k, a.cpu, 0, y);
      }
      break;
    case 'irq':
    case 'softirq':
    case 'kworker':
    case 'gp':
    case 'prog': {
      const x = begin(k, a);
      started?.(x);
      if (x) {
        const toEnd = n === 0;
        runCpu(k, x.cpu, toEnd ? 0 : n, toEnd ? x : null);
      }
      break;
    }
    default:
      throw new Error(`spec bug: fire(${a.kind}) is sequenced by the harness`);
  }
  return rec === null ? NO_EVENTS : rec.slice(from);
}

// ---- timed sleeps ----
//
// schedule_timeout_uninterruptible(): a task sleeps until its timer fires.
// What the kernel does while it sleeps (a page fault in
// bpf_copy_from_user(), a sleepable kfunc that blocks) is outside the
// model; what matters is that the task is off the CPU (R5: the tasks it
// preempted run, new tasks start over it, R6 when it wakes) and keeps any
// read-side section it holds. Time is the harness's: tick() is the timer
// interrupt, once per harness command, and when nothing else on the
// machine can make progress, time passes at once (wakeTimers()).

/** schedule_timeout_uninterruptible(ticks): 1 step to go to sleep (a
 *  sleeping wait, so might_sleep() rules apply: NoSleepInAtomic inside
 *  rcu_read_lock(), with IRQs or preemption off, under a spinlock); the
 *  wake-up is part of the task's next step, as for every wait. */
export function* scheduleTimeout(x: Context, ticks: number, what: string): Gen<void> {
  x.sleepTicks = Math.max(1, ticks);
  yield* waitUntil(x, () => x.sleepTicks === 0, what);
}

/** One timer tick: every timed sleep comes one tick closer to its end;
 *  true when a sleeping context's timer moved on. */
export function tick(k: Kernel): boolean {
  let slept = false;
  for (const c of k.cpus)
    for (const x of c.stack)
      if (x.sleepTicks > 0) {
        x.sleepTicks--;
        slept = true;
      }
  return slept;
}

/** Nothing else can run: time passes to the first timer's expiry (every
 *  pending timer moves on as far). False when no timer was pending. */
export function wakeTimers(k: Kernel): boolean {
  let first = 0;
  for (const c of k.cpus) for (const x of c.stack) if (x.sleepTicks > 0 && (first === 0 || x.sleepTicks < first)) first = x.sleepTicks;
  if (first === 0) return false;
  for (const c of k.cpus) for (const x of c.stack) if (x.sleepTicks > 0) x.sleepTicks -= first;
  return true;
}

// ---- fairness ----
//
// What the machine does when the harness lets it run on its own (a
// quiesce, the end of a run, teardown): every context finishes and every
// pending irq_work, kworker, grace period and callback runs until nothing
// can, in a fixed order. What is left then is a fact the model judges.

/** Queued irq_work, work items or RCU callbacks that have yet to run. */
export function pending(k: Kernel): boolean {
  return k.pendingIrqWork.size > 0 || k.claimedIrqWork.size > 0 || k.pendingWork.size > 0 || k.rcu.rcu.inflight.size > 0 || k.rcu.trace.inflight.size > 0;
}

/** One action of the kernel's own progress to its end, if any. Contexts
 *  already running first, then new ones, then grace periods. */
export function progressOnce(k: Kernel): boolean {
  // progress(k)'s first step, else its first irq/softirq/kworker, else
  // its first grace period: found in its order without building its list
  // (this runs in every settle)
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    const x = runnable(k, cpu);
    if (x) {
      runCpu(k, x.cpu, 0, x);
      return true;
    }
  }
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    const w = irqWorkFor(k, cpu);
    if (w) return startToEnd(k, startIrqWork(k, cpu, w));
    if (canStart(k, cpu, 'softirq') && readyCallbackOn(k, cpu)) return startToEnd(k, begin(k, { kind: 'softirq', cpu })!);
    const wk = workFor(k, cpu);
    if (wk) return startToEnd(k, begin(k, { kind: 'kworker', cpu, work: wk })!);
  }
  for (const f of GP_FLAVOURS) {
    if (k.rcu.canEndGp(f)) {
      k.rcu.endGp(f);
      return true;
    }
  }
  return false;
}

const GP_FLAVOURS = ['rcu', 'rcu_tasks_trace'] as const;

/** Run a context just started to its end (or as far as it can go). */
function startToEnd(k: Kernel, x: Context): true {
  runCpu(k, x.cpu, 0, x);
  return true;
}

/** Run everything that can run until nothing can; report what is stuck. */
export function settle(k: Kernel): void {
  // when nothing else can run, time passes: a timed sleep ends
  for (let rounds = 0; progressOnce(k) || wakeTimers(k); rounds++) {
    if (rounds > k.cfg.stepLimit) report('livelock', 'the system never settles (livelock)');
  }
  const stuck: Context[] = [];
  for (const c of k.cpus) stuck.push(...c.stack);
  if (stuck.length) {
    report('stuck', stuck.map((x) => `${x.label} on cpu${x.cpu} stuck in ${x.fn}${x.waitWhat ? ` (${x.waitWhat})` : ''}`).join('; '));
  }
  if (k.claimedIrqWork.size || k.pendingIrqWork.size) {
    const w = [...k.claimedIrqWork, ...k.pendingIrqWork][0]!;
    report('never-runs', `${w.name} (${w.fnName}) is pending but can never run${w.claimedBy ? `: claimed by ${w.claimedBy.label}, never queued` : ''}`);
  }
}

/** Let every BPF program run to its end (and whatever sits above one on
 *  its CPU), starting nothing new: the map is freed only after the last
 *  program that uses it has finished. */
export function finishPrograms(k: Kernel): void {
  while (programsOn(k.cpus)) {
    let moved = false;
    for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
      if (!programOn(k.cpus[cpu]!)) continue;
      if (runCpu(k, cpu, 0, runnable(k, cpu) ?? null) > 0) moved = true;
    }
    if (!moved && progressOnce(k) === false && !wakeTimers(k)) settle(k); // reports what is stuck
  }
}

/** Is a BPF program on c's stack? On any of the CPUs? */
function programOn(c: Cpu): boolean {
  for (const x of c.stack) if (x.isProg) return true;
  return false;
}
function programsOn(cpus: readonly Cpu[]): boolean {
  for (const c of cpus) if (programOn(c)) return true;
  return false;
}

/** Drive a generator to its end outside the scheduler (boot-time init). */
export function runToEnd<T>(g: Gen<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}
