// What each command's action does once allowed() admitted it (spec/
// kernel/sched.ts): a program starts and runs its steps, a burst of NMIs,
// the kernel's own progress fired, a fault armed or a CPU taken offline,
// the map torn down, everything left to run (quiesce). The command table
// (harness/commands.ts) maps each command to its action and calls these;
// each logs the command it ran as (`run.log`) and says what it did.
import type { AbstractAllocator } from '../model/allocator.ts';
import type { Context } from '../spec/kernel/context.ts';
import type { Kernel } from '../spec/kernel/kernel.ts';
import type { Obj } from '../spec/kernel/obj.ts';
import type { Gen } from '../spec/kernel/types.ts';
import { allowed, canStart, finishPrograms, fire, runCpu, settle, start, type Action, type ProgBody } from '../spec/kernel/sched.ts';
import { FAULT_KINDS, type FaultKind } from '../spec/kernel/slab.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Cmd, GenCtx, Op } from './cmd.ts';
import type { CheckConfig } from './config.ts';
import { bpfProg, type ProgArgs } from './programs.ts';
import { saw } from './coverage.ts';

/** What the actions need of the run they act in (harness/sim.ts). */
export interface Run {
  readonly k: Kernel;
  readonly model: AbstractAllocator;
  readonly policy: Policy<unknown>;
  readonly state: unknown;
  readonly cfg: CheckConfig;
  readonly gen: GenCtx;
  readonly slots: Slots;
  /** each executed command as the action it became */
  readonly log: Cmd[];
  /** what the last command did, and the objects its program gave back */
  did: string;
  freed: string[];
  tearingDown: boolean;
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

/** The slots of a machine of `cpus` CPUs, made once: plain data nobody
 *  changes (a program's action is made with its body as it starts, an
 *  irq_work's or a work's with its item), so every run of that size
 *  shares one set. (Not frozen: a frozen action has a shape of its own,
 *  and the engine's reads of an action would see two.) */
const SLOTS = new Map<number, Slots>();
export function slotsFor(cpus: number): Slots {
  let s = SLOTS.get(cpus);
  if (s === undefined) SLOTS.set(cpus, (s = makeSlots(cpus)));
  return s;
}

function makeSlots(cpus: number): Slots {
  const per = <A extends Action>(f: (cpu: number) => A): A[] => Array.from({ length: cpus }, (_, cpu) => f(cpu));
  const slots: Slots = {
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
  return slots;
}

/** Start a BPF program (task level or NMI) on cpu (allowed() admitted
 *  it); run `steps` steps of the CPU (0: to the program's end, or until
 *  it sleeps). A lookup with `hold` keeps its object that much longer
 *  (harness/programs.ts). */
export function prog(run: Run, cpu: number, level: 'task' | 'nmi', op: Op, arg: number, count: number, sleepable: boolean, steps: number, onAlloc?: (o: Obj | null) => void, hold?: number, from?: number): string {
  const k = run.k;
  // object #arg among every owned object, or among those programs on
  // CPU `from` were handed (the exhaustive letters)
  const owned = from === undefined ? run.model.owned : run.model.ownedFrom(from);
  if (owned.length === 0 || !run.gen.ops.includes(op)) op = 'alloc';
  const objs: Obj[] = [];
  if (op !== 'alloc') {
    const first = arg % owned.length;
    const want = op === 'lookup' ? 1 : Math.min(count, owned.length);
    for (let i = 0; i < want; i++) objs.push(owned[(first + i) % owned.length]!);
  }
  if (op === 'free' || op === 'free_rcu') {
    for (const o of objs) run.model.released(o, op === 'free_rcu');
  }
  const req = request(run, arg);
  if (op !== 'lookup' || level === 'nmi') hold = undefined;
  const prog = new BpfProgram(level === 'nmi' ? 'nmi' : run.gen.syscall ? 'syscall' : 'prog', run, { op, count, objs, size: req.size, align: req.align, sleepable, onAlloc, hold });
  const eff: Cmd = level === 'nmi' ? (steps > 0 ? { t: 'nmi', cpu, op, arg, steps } : { t: 'nmi', cpu, op, arg }) : hold !== undefined ? { t: 'prog', cpu, op, arg, count, sleepable, steps, hold } : { t: 'prog', cpu, op, arg, count, sleepable, steps };
  if (from !== undefined && op !== 'alloc') eff.from = from;
  if (op === 'free' || op === 'free_rcu') run.freed = objs.map((o) => o.name);
  fire(k, { kind: 'prog', cpu, level, prog }, steps, (x) => {
    x!.progOp = op;
    if (k.keepHistory) x!.started = `${op} x${count} [${objs.map((o) => o.id).join(',')}] ${req.size}/${req.align ?? ''}${sleepable ? ' sleepable' : ''}${hold !== undefined ? ` hold ${hold}` : ''}`;
    run.did = `${x!.label} on cpu${cpu}: ${op}${op === 'alloc' && count > 1 ? ` x${count}` : ''}${objs.length ? ` ${objs.map((o) => o.name).join(' ')}` : ''}`;
    run.log.push(eff);
  });
  return run.did;
}

/** A program as the engine starts it (a class, not a closure per start:
 *  the run and the arguments are all its body needs). */
class BpfProgram implements ProgBody {
  constructor(
    readonly kind: string,
    private readonly run: Run,
    private readonly args: ProgArgs,
  ) {}
  body(x: Context): Gen<void> {
    return bpfProg(x, this.run.policy, this.run.state, this.run.model, this.args);
  }
}

/** The size (and alignment) program #arg asks for. */
function request(run: Run, arg: number): { size: number; align?: number } {
  const rs = run.policy.requests;
  if (rs && rs.length) return rs[arg % rs.length]!;
  const sizes = run.cfg.allocSizes;
  return { size: sizes.length ? sizes[arg % sizes.length]! : run.cfg.size };
}

/** n times: one step of cpu, then an NMI program on it. */
export function burst(run: Run, cpu: number, n: number, op: Op, arg: number): string {
  const k = run.k;
  // logged first: a violation inside the burst replays from this entry
  run.log.push({ t: 'burst', cpu, n, op, arg });
  const saved = run.log.length;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    if (runCpu(k, cpu, 1) === 0 && i > 0) break;
    if (!allowed(k, run.slots.nmi[cpu]!)) break;
    const d = prog(run, cpu, 'nmi', op, arg, 1, false, 0);
    run.log.length = saved;
    parts.push(d);
  }
  run.did = `burst on cpu${cpu}: ${parts.join('; ') || 'steps'}`;
  return run.did;
}

/** n rounds of a producer and a consumer: a program on cpu allocates
 *  `count` objects, a program on the next online CPU frees them, each run
 *  to its end (with what it raises), so one CPU allocates and another
 *  frees, repeatedly (MemoryBound). */
export function handoff(run: Run, cpu: number, n: number, count: number): string {
  const k = run.k;
  const ncpu = k.cpus.length;
  // logged first: a violation inside replays from this entry
  run.log.push({ t: 'handoff', cpu, n, count });
  const saved = run.log.length;
  let to = -1;
  for (let d = 1; d < ncpu && to < 0; d++) if (k.cpus[(cpu + d) % ncpu]!.online) to = (cpu + d) % ncpu;
  let rounds = 0;
  for (let i = 0; i < n && to >= 0; i++) {
    if (!allowed(k, run.slots.task[cpu]!)) break;
    const got: Obj[] = [];
    prog(run, cpu, 'task', 'alloc', 0, count, false, 0, (o) => o && got.push(o));
    run.log.length = saved;
    const owned = run.model.owned;
    const mine = got.filter((o) => owned.includes(o));
    if (!mine.length || !allowed(k, run.slots.task[to]!)) break;
    // free x mine.length, from the first object this round allocated on
    prog(run, to, 'task', 'free', owned.indexOf(mine[0]!), mine.length, false, 0);
    run.log.length = saved;
    rounds++;
  }
  return (run.did = `handoff cpu${cpu} → cpu${to}: ${rounds} round${rounds === 1 ? '' : 's'}`);
}

/** The CPU's runnable context (or its pending interrupt first) takes
 *  `steps` steps (0: runs to its end). */
export function step(run: Run, cpu: number, steps: number): string {
  fire(run.k, run.slots.step[cpu]!, steps, (x) => {
    run.did = x ? `${x.label} on cpu${cpu} runs` : `cpu${cpu} takes its interrupt`;
    run.log.push({ t: 'step', cpu, steps });
  });
  return run.did;
}

/** An action of the kernel's own progress: fired, logged as eff. */
export function act(run: Run, a: Action, steps: number, eff: Cmd, what: (x: Context | null) => string): string {
  fire(run.k, a, steps, (x) => {
    run.did = what(x);
    run.log.push(eff);
  });
  return run.did;
}

export function fault(run: Run, kind: FaultKind): string {
  if (kind === 'cpu_offline') return hotplug(run);
  run.k.slab.armed[kind]++;
  run.log.push({ t: 'fault', kind });
  const what = { kmalloc: 'kmalloc', percpu: '__alloc_percpu_gfp', trylock: 'spin_trylock', page: 'alloc_pages_node', vmap: 'pcpu_map' }[kind] ?? kind;
  return (run.did = `next ${what} fails`);
}

/** The last CPU goes offline (sched.ts hotplugAllowed: nothing runs or
 *  waits to run on it) and the policy's CPU-dead callback runs on cpu0;
 *  or it comes back online. */
export function hotplug(run: Run): string {
  const k = run.k;
  const c = k.cpus[run.cfg.cpus - 1]!;
  if (c.online) {
    const dead = k.driver!.cpuDead;
    c.online = false;
    saw(k, 'fault:cpu_offline');
    run.log.push({ t: 'fault', kind: 'cpu_offline' });
    run.did = `cpu${c.id} goes offline`;
    if (dead) {
      const x = start(k, 0, 'task', 'cpuhp', (y) => dead(y, c.id));
      run.did += `; ${x.label} on cpu0 runs the CPU-dead callback`;
      runCpu(k, 0, 0, x);
      // the hook ran to its end: the dead CPU's caches are empty
      if (!k.cpus[0]!.stack.includes(x)) run.model.cpuDead(c.id);
    }
    return run.did;
  }
  c.online = true;
  run.log.push({ t: 'fault', kind: 'cpu_offline' });
  return (run.did = `cpu${c.id} comes back online`);
}

/** Programs finish, then map_free starts on cpu (or the next CPU where a
 *  task may start) and runs `steps` steps. */
export function destroy(run: Run, cpu: number, steps: number): string {
  const k = run.k;
  // logged before anything runs: finishing the programs changes the state
  // (and may break an invariant) even when map_free cannot start yet
  run.log.push({ t: 'destroy', cpu, steps });
  finishPrograms(run.k);
  let at = -1;
  for (let d = 0; d < run.cfg.cpus && at < 0; d++) if (canStart(k, (cpu + d) % run.cfg.cpus, 'task')) at = (cpu + d) % run.cfg.cpus;
  if (at < 0) return (run.did = 'programs finish; map_free cannot start yet');
  run.tearingDown = true;
  k.tracer?.note(null, '» teardown');
  const x = start(k, at, 'task', 'map_free', (y) => k.driver!.mapFree(y));
  run.did = `map_free on cpu${at}`;
  runCpu(k, at, steps, steps === 0 ? x : null);
  return run.did;
}


/** Fairness: programs finish and everything pending runs until nothing
 *  is left; then the liveness invariants are judged. */
export function quiesce(run: Run): string {
  const k = run.k;
  run.log.push({ t: 'quiesce' });
  run.did = 'everything pending runs';
  finishPrograms(run.k);
  settle(run.k);
  if (run.tearingDown) return run.did;
  run.model.quiescent(true);
  run.model.idle();
  // RefillProgress: an allocation that fails raises a refill; once that
  // refill has run with no injected fault and slab room, an allocation
  // on the same CPU must succeed
  const slab = k.slab;
  for (let cpu = 0; cpu < run.cfg.cpus; cpu++) {
    let clean = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!allowed(k, run.slots.task[cpu]!)) break;
      const faults = slab.faultsHit + slab.exhausted;
      let got: Obj | null | undefined;
      const saved = run.log.length;
      prog(run, cpu, 'task', 'alloc', 0, 1, false, 0, (o) => (got = o));
      run.log.length = saved;
      settle(run.k);
      if (got !== null) break;
      if (clean) run.model.allocFailedAfterCleanRefill(cpu);
      clean = slab.faultsHit + slab.exhausted === faults && slab.live < k.cfg.maxObjects && slab.armed.kmalloc === 0 && slab.armed.percpu === 0;
    }
  }
  return (run.did = 'everything pending runs; liveness judged');
}

