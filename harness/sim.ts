// One run: boot a policy on a modelled kernel, execute commands, then
// settle everything, tear down, and check the end-state invariants.
// A command whose own action is not enabled falls back to the nearest one
// that is (same kind on the next CPU, then any progress), so nearly every
// generated command changes the state.
import { AbstractAllocator } from '../model/allocator.ts';
import type { InvariantName } from '../model/invariants.ts';
import { resetContextIds, type Context } from '../spec/kernel/context.ts';
import { runIrqWork } from '../spec/kernel/irq_work.ts';
import { Kernel, type Tracer } from '../spec/kernel/kernel.ts';
import { invokeCallback } from '../spec/kernel/rcupdate.ts';
import { canStart, run, start } from '../spec/kernel/sched.ts';
import { Violation, type Level } from '../spec/kernel/types.ts';
import { runWork, workRunsOn } from '../spec/kernel/workqueue.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Obj } from '../spec/kernel/obj.ts';
import type { FaultKind } from '../spec/kernel/slab.ts';
import type { Cmd, Op } from './commands.ts';
import { allocOptions, kernelConfig, type CheckConfig } from './config.ts';
import { fingerprint } from './fingerprint.ts';
import { PolicyError } from './errors.ts';
import { bpfProg, mapFree } from './programs.ts';

export interface SimOptions {
  tracer?: Tracer | null;
  situations?: Map<string, number> | null;
  /** distinct state fingerprints seen (shared across runs) */
  states?: Set<number> | null;
  /** extra invariants to check beyond what the policy promises */
  promise?: readonly InvariantName[];
}

/** Fault kinds a run of policy under cfg injects: the policy's, within
 *  the configuration. Pure: callers need not boot a Sim to ask. */
export function faultKinds(policy: Policy<unknown>, cfg: CheckConfig): FaultKind[] {
  if (!cfg.faults) return [];
  const base: FaultKind[] = cfg.percpu ? ['kmalloc', 'percpu'] : ['kmalloc'];
  // a percpu fault only reaches code in a percpu configuration
  const kinds = (policy.faults ?? base).filter((f) => f !== 'percpu' || cfg.percpu);
  return cfg.cpus > 1 ? kinds : kinds.filter((f) => f !== 'cpu_offline');
}

export class Sim {
  readonly k: Kernel;
  readonly model: AbstractAllocator;
  readonly state: unknown;
  tearingDown = false;
  /** teardown finished and nothing is left to run: later commands are
   *  skipped (their fast-check precondition fails) */
  over = false;
  commands = 0;
  /** commands generated after the run was over (skipped) */
  skipped = 0;
  effective = 0;
  /** what the last command did, for traces */
  did = '';

  constructor(
    readonly policy: Policy<unknown>,
    readonly cfg: CheckConfig,
    readonly opts: SimOptions = {},
  ) {
    resetContextIds();
    this.k = new Kernel(kernelConfig(cfg));
    this.k.tracer = opts.tracer ?? null;
    this.k.situations = opts.situations ?? null;
    this.model = new AbstractAllocator(this.k, [...(policy.promises ?? []), ...(opts.promise ?? [])]);
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

  // ---- actions: each returns what it did, or null when not enabled ----

  private prog(cpu: number, level: Level, op: Op, arg: number, count: number, sleepable: boolean, steps: number): string | null {
    const k = this.k;
    if (this.tearingDown || !canStart(k, cpu, level)) return null;
    const owned = this.model.owned;
    if (owned.length === 0) op = 'alloc';
    const objs: Obj[] = [];
    if (op !== 'alloc') {
      const first = arg % owned.length;
      const want = op === 'free' ? Math.min(count, owned.length) : 1;
      for (let i = 0; i < want; i++) objs.push(owned[(first + i) % owned.length]!);
    }
    if (op === 'free') {
      for (const o of objs) this.model.released(o);
      this.coverFree(cpu);
    }
    const sizes = this.cfg.allocSizes;
    const size = sizes.length ? sizes[arg % sizes.length]! : this.cfg.size;
    const x = start(k, cpu, level, k.label(level === 'nmi' ? 'nmi' : 'prog'), (y) =>
      bpfProg(y, this.policy, this.state, this.model, { op, count, objs, size, sleepable }),
    );
    x.isProg = true;
    this.did = `${x.label} on cpu${cpu}: ${op}${op === 'alloc' && count > 1 ? ` x${count}` : ''}${objs.length ? ` ${objs.map((o) => o.name).join(' ')}` : ''}`;
    run(k, x, level === 'nmi' ? 0 : steps);
    return this.did;
  }

  private coverFree(cpu: number): void {
    const k = this.k;
    if (!k.situations) return;
    for (const c of k.cpus) {
      for (const x of c.stack) {
        if (c.id !== cpu && x.label.startsWith('irq_work')) k.saw('irq-work-while-other-cpu-frees');
        if (x.level === 'softirq') k.saw('rcu-callback-racing-free');
      }
    }
  }

  private step(cpu: number, steps: number): string | null {
    const x = this.k.runnable(cpu);
    if (!x) return null;
    this.did = `${x.label} on cpu${cpu} runs`;
    run(this.k, x, steps);
    return this.did;
  }

  private irq(cpu: number, steps: number): string | null {
    const k = this.k;
    const level: Level = k.cfg.preemptRt ? 'task' : 'hardirq';
    if (!canStart(k, cpu, level)) return null;
    for (const w of k.pendingIrqWork) {
      if (w.cpu !== cpu || w.busy) continue;
      const x = start(k, cpu, level, k.label('irq_work'), (y) => runIrqWork(y, w));
      this.did = `${x.label} on cpu${cpu}: ${w.fnName}(${w.owner.name})`;
      run(k, x, steps);
      return this.did;
    }
    return null;
  }

  private softirq(cpu: number, steps: number): string | null {
    const k = this.k;
    if (!k.rcu.hasReady(cpu) || !canStart(k, cpu, 'softirq')) return null;
    const cb = k.rcu.takeReady(cpu)!;
    for (const c of k.cpus) for (const y of c.stack) if (y.isProg && y.fns.length) k.saw('rcu-callback-racing-free');
    const x = start(k, cpu, 'softirq', k.label('softirq'), (y) => invokeCallback(y, cb));
    this.did = `${x.label} on cpu${cpu}: ${cb.name}`;
    run(k, x, steps);
    return this.did;
  }

  private kworker(cpu: number, steps: number): string | null {
    const k = this.k;
    if (!canStart(k, cpu, 'task')) return null;
    for (const w of k.pendingWork) {
      if (!workRunsOn(k, w, cpu)) continue;
      const x = start(k, cpu, 'task', k.label('kworker'), (y) => runWork(y, w));
      this.did = `${x.label} on cpu${cpu}: ${w.fnName}`;
      run(k, x, steps);
      return this.did;
    }
    return null;
  }

  private gp(f: 'rcu' | 'rcu_tasks_trace'): string | null {
    const rcu = this.k.rcu;
    if (!rcu.canEndGp(f)) {
      if (rcu.of(f).gp) this.k.saw('grace-period-held-by-reader');
      return null;
    }
    rcu.endGp(f);
    return `${f} grace period ends`;
  }

  /** Fault kinds this run injects: the policy's, within the config. */
  get faultKinds(): FaultKind[] {
    return faultKinds(this.policy, this.cfg);
  }

  private fault(kind: FaultKind): string | null {
    if (!this.faultKinds.includes(kind)) return null;
    if (kind === 'cpu_offline') {
      // the last CPU goes offline, or comes back: works queued there move
      const c = this.k.cpus[this.n - 1]!;
      c.online = !c.online;
      if (!c.online) this.k.saw('fault:cpu_offline');
      return `cpu${c.id} goes ${c.online ? 'online' : 'offline'}`;
    }
    this.k.slab.armed[kind]++;
    const what = { kmalloc: 'kmalloc', percpu: '__alloc_percpu_gfp', trylock: 'spin_trylock', page: 'alloc_pages_node' }[kind];
    return `next ${what} fails`;
  }

  private destroy(cpu: number, steps: number): string | null {
    const k = this.k;
    if (this.tearingDown || !canStart(k, cpu, 'task')) return null;
    for (const x of k.contexts()) if (x.isProg) return null;
    this.tearingDown = true;
    const x = start(k, cpu, 'task', 'map_free', (y) => mapFree(y, this.policy, this.state, this.model));
    this.did = `map_free on cpu${cpu}`;
    run(k, x, steps);
    return this.did;
  }

  /** The command's own action, on the CPU it names. */
  private try(c: Cmd, cpu: number): string | null {
    switch (c.t) {
      case 'prog':
        return this.prog(cpu, 'task', c.op, c.arg, c.count, c.sleepable, c.steps);
      case 'nmi':
        return this.prog(cpu, 'nmi', c.op, c.arg, 1, false, 0);
      case 'step':
        return this.step(cpu, c.steps);
      case 'irq':
        return this.irq(cpu, c.steps);
      case 'softirq':
        return this.softirq(cpu, c.steps);
      case 'kworker':
        return this.kworker(cpu, c.steps);
      case 'gp':
        return this.gp(c.flavour);
      case 'fault':
        return this.fault(c.kind);
      case 'destroy':
        return this.destroy(cpu, c.steps);
    }
  }

  /** Any progress at all, in a fixed order starting at cpu. */
  private anyProgress(cpu: number, steps: number): string | null {
    const n = this.n;
    for (let d = 0; d < n; d++) {
      const r = this.step((cpu + d) % n, steps);
      if (r) return r;
    }
    for (let d = 0; d < n; d++) {
      const c = (cpu + d) % n;
      const r = this.irq(c, steps) ?? this.softirq(c, steps) ?? this.kworker(c, steps);
      if (r) return r;
    }
    return this.gp('rcu') ?? this.gp('rcu_tasks_trace');
  }

  /** Execute one command; true if it changed the state. */
  exec(c: Cmd): boolean {
    this.commands++;
    const cpu = 'cpu' in c ? c.cpu % this.n : 0;
    let did = this.try(c, cpu);
    if (did === null && 'cpu' in c) {
      for (let d = 1; d < this.n && did === null; d++) did = this.try(c, (cpu + d) % this.n);
    }
    if (did === null) did = this.anyProgress(cpu, 'steps' in c ? c.steps : 0);
    if (did === null && c.t !== 'prog') did = this.prog(cpu, 'task', 'alloc', 0, 1, false, 0);
    this.did = did ?? 'nothing to do';
    if (did !== null) this.effective++;
    if (this.k.quiescent) {
      this.model.quiescent(!this.tearingDown);
      if (this.tearingDown && !this.pending()) this.over = true;
    }
    this.opts.states?.add(fingerprint(this.k, this.model));
    return did !== null;
  }

  /** Queued irq_work, work items or RCU callbacks that have yet to run. */
  pending(): boolean {
    const k = this.k;
    return k.pendingIrqWork.size > 0 || k.pendingWork.size > 0 || k.rcu.rcu.inflight.size > 0 || k.rcu.trace.inflight.size > 0;
  }

  /** Run everything that can run until nothing can; report what is stuck. */
  settle(): void {
    const k = this.k;
    for (let rounds = 0; ; rounds++) {
      if (rounds > k.cfg.stepLimit) throw new Violation('NoDeadlock', 'the system never settles (livelock)');
      let progress = false;
      for (let cpu = 0; cpu < this.n; cpu++) {
        const x = k.runnable(cpu);
        if (x) {
          run(k, x, 0);
          progress = true;
        }
      }
      if (progress) continue;
      if (this.anyProgress(0, 0) === null) break;
    }
    const stuck: Context[] = [...k.contexts()];
    if (stuck.length) {
      throw new Violation(
        'NoDeadlock',
        stuck.map((x) => `${x.label} on cpu${x.cpu} stuck in ${x.fn}${x.waitWhat ? ` (${x.waitWhat})` : ''}`).join('; '),
      );
    }
  }

  /** Let every BPF program run to its end (and whatever sits above one on
   *  its CPU), starting nothing new: the map is freed only after the last
   *  program that uses it has finished. */
  private finishPrograms(): void {
    const k = this.k;
    const progs = (): boolean => {
      for (const x of k.contexts()) if (x.isProg) return true;
      return false;
    };
    while (progs()) {
      let progress = false;
      for (let cpu = 0; cpu < this.n; cpu++) {
        const s = k.cpus[cpu]!.stack;
        if (!s.some((x) => x.isProg)) continue;
        const x = k.runnable(cpu);
        if (x) {
          run(k, x, 0);
          progress = true;
        }
      }
      if (!progress && this.anyProgress(0, 0) === null) this.settle(); // reports what is stuck
    }
  }

  /** The end of a run: programs finish, the map is torn down while
   *  irq_work, kworkers and RCU callbacks may still be in flight, then
   *  everything settles and nothing may be left behind. */
  finish(): void {
    const k = this.k;
    k.tracer?.note(null, '» end of commands: programs finish');
    this.finishPrograms();
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
      const x = start(k, cpu, 'task', 'map_free', (y) => mapFree(y, this.policy, this.state, this.model));
      run(k, x, 0);
    }
    this.settle();
    this.model.quiescent(false);
    this.model.tornDown();
  }

}
