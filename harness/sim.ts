// One run: boot a policy on a modelled kernel, map each command to an
// action the engine allows (spec/kernel/sched.ts decides what may run;
// nothing here does), then tear down, settle and judge the end state.
// A command whose own action is not enabled falls back to the nearest one
// that is (same kind on the next CPU, then any progress); the action that
// ran is recorded as a command (`log`), so a saved counterexample reads as
// what happened.
import { AbstractAllocator } from '../model/allocator.ts';
import type { InvariantName } from '../model/invariants.ts';
import { resetContextIds } from '../spec/kernel/context.ts';
import { Kernel, type Tracer } from '../spec/kernel/kernel.ts';
import { allowed, canStart, finishPrograms, pending, runCpu, settle, start, tick } from '../spec/kernel/sched.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { FaultKind } from '../spec/kernel/slab.ts';
import { commandOf } from './commands.ts';
import { genCtxOf, type Cmd, type GenCtx } from './cmd.ts';
import { slotsFor, type Run, type Slots } from './actions.ts';
import { allocOptions, kernelConfig, type CheckConfig } from './config.ts';
import { installSituations, situationList } from './coverage.ts';
import { fingerprint } from './fingerprint.ts';
import { PolicyError, stepError } from './errors.ts';
import { excuser } from './findings.ts';
import { hook, mapFree } from './programs.ts';
export { faultKinds, genCtx } from './cmd.ts';

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

const GP_RCU: Cmd = { t: 'gp', flavour: 'rcu' };
const GP_TRACE: Cmd = { t: 'gp', flavour: 'rcu_tasks_trace' };

export class Sim implements Run {
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
  /** teardown over, nothing left to run: later commands are skipped */
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
  readonly gen: GenCtx;
  /** the actions the command table maps commands to, made once per
   *  machine size (a command names one of these, or an irq_work's or
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
    this.gen = genCtxOf(policy, cfg);
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
      this.model.excuses = excuser(policy, cfg.name);
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

  /** Queued irq_work, work items or RCU callbacks that have yet to run. */
  pending(): boolean {
    return pending(this.k);
  }

  /** Run everything that can run until nothing can; report what is stuck. */
  settle(): void {
    settle(this.k);
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
    const kind = commandOf(c);
    const a = kind.toAction(this, c, cpu);
    if (a === null || !allowed(this.k, a)) {
      kind.refused?.(this, c);
      return null;
    }
    return kind.run(this, c, a);
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

  /** Execute one command; true if it changed the state. */
  exec(c: Cmd): boolean {
    this.commands++;
    // the timer interrupt: a sleep of n ticks spans the rest of the
    // command it began in and n-1 commands after it
    const ticked = tick(this.k);
    const cpu = 'cpu' in c ? c.cpu % this.n : 0;
    let did: string | null = null;
    // resolve (c's own action on its CPU, then the next CPUs), fall back
    // (any progress, then a program), fire (guard()'s catch, without a
    // closure per command)
    try {
      did = this.tryCmd(c, cpu);
      if (did === null && 'cpu' in c) {
        for (let d = 1; d < this.n && did === null; d++) did = this.tryCmd(c, (cpu + d) % this.n);
      }
      if (did === null) did = this.anyProgress(cpu, 'steps' in c ? (c.steps ?? 0) : 0);
      if (did === null && c.t !== 'prog') did = this.tryCmd({ t: 'prog', cpu, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 }, cpu);
    } catch (e) {
      stepError(e, this.policy.name, this.k);
    }
    // nothing ran, but a sleeper's timer moved on: logged (a replay passes the same time)
    if (did === null && ticked) this.log.push({ t: 'step', cpu, steps: 0 });
    this.did = did ?? (ticked ? 'time passes' : 'nothing to do');
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
      stepError(e, this.policy.name, this.k);
    }
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
      finishPrograms(k);
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
