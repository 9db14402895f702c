// Exploration of a percpu-chunk policy (seed 003) until the harness's own
// commands can drive it: __alloc_percpu() sleeps on pcpu_mutex, so its
// callers are task-level syscalls (no RCU read-side section, no NMI), not
// BPF programs. Commands: a syscall on a CPU allocating one of the
// policy's requests or freeing an area it owns (run a few steps, so that
// other CPUs and preempting tasks meet it on the mutex), a step, a fault.
// Boot, the abstract allocator and the teardown are the harness's (Sim).
import fc from 'fast-check';
import type { InvariantName } from '../model/invariants.ts';
import { Obj } from '../spec/kernel/obj.ts';
import { canStart, run, start } from '../spec/kernel/sched.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { CONFIGS, type CheckConfig } from './config.ts';
import { Sim } from './sim.ts';

export type PcCmd =
  | { t: 'alloc'; cpu: number; req: number; steps: number }
  | { t: 'free'; cpu: number; arg: number; steps: number }
  | { t: 'step'; cpu: number; steps: number }
  | { t: 'fault'; kind: 'page' | 'kmalloc' };

/** The machine: two CPUs, no NMIs, tasks may preempt tasks. */
export const PCPU_CHUNK_CONFIG: CheckConfig = { ...CONFIGS.fixed!, name: 'percpu-chunk', nmi: false, maxCommands: 80 };

export function pcCmdText(c: PcCmd, policy?: Policy<unknown>): string {
  const n = (s: number): string => (s === 0 ? 'to end' : `${s} steps`);
  switch (c.t) {
    case 'alloc': {
      const r = policy?.requests?.[c.req % policy.requests.length];
      return `syscall cpu${c.cpu} __alloc_percpu(${r ? `${r.size}, ${r.align}` : `#${c.req}`}), ${n(c.steps)}`;
    }
    case 'free':
      return `syscall cpu${c.cpu} free_percpu(#${c.arg}), ${n(c.steps)}`;
    case 'step':
      return `step cpu${c.cpu}, ${n(c.steps)}`;
    case 'fault':
      return `fault ${c.kind}`;
  }
}

function exec(sim: Sim, c: PcCmd): void {
  const k = sim.k;
  const policy = sim.policy;
  if (c.t === 'fault') {
    k.slab.armed[c.kind]++;
    return;
  }
  const cpu = c.cpu % k.cfg.cpus;
  if (c.t === 'step' || !canStart(k, cpu, 'task')) {
    const x = k.runnable(cpu);
    if (x) run(k, x, c.steps);
    return;
  }
  const owned = sim.model.owned;
  let body: (x: Parameters<Policy<unknown>['alloc']>[0]) => Generator<string, void, void>;
  if (c.t === 'free' && owned.length) {
    const obj = owned[c.arg % owned.length]!;
    sim.model.released(obj);
    body = function* (x) {
      yield* policy.free(x, sim.state, obj);
    };
  } else {
    const reqs = policy.requests ?? [{ size: sim.cfg.size, align: 8 }];
    const r = reqs[(c.t === 'alloc' ? c.req : c.arg) % reqs.length]!;
    body = function* (x) {
      const obj = yield* policy.alloc(x, sim.state, r.size, r.align);
      if (obj instanceof Obj) sim.model.allocated(x, obj);
    };
  }
  const x = start(k, cpu, 'task', k.label('syscall'), body);
  x.isProg = true;
  run(k, x, c.steps);
}

/** Run cmds to the end (teardown included); the violation, if any. */
export function runPcCommands(policy: Policy<unknown>, cmds: readonly PcCmd[], cfg: CheckConfig = PCPU_CHUNK_CONFIG, situations?: Map<string, number>): { violation: Violation | null; sim: Sim | null } {
  let sim: Sim | null = null;
  try {
    sim = new Sim(policy, cfg, { situations: situations ?? null });
    for (const c of cmds) {
      exec(sim, c);
      if (sim.k.quiescent) sim.model.quiescent(true);
    }
    sim.finish();
    return { violation: null, sim };
  } catch (e) {
    if (e instanceof Violation) return { violation: e, sim };
    throw e;
  }
}

export type PcFault = 'page' | 'kmalloc';

export function pcCmdArbitrary(cfg: CheckConfig, nreq: number, faults: readonly PcFault[] = ['page', 'kmalloc']): fc.Arbitrary<PcCmd> {
  const cpu = fc.nat(cfg.cpus - 1);
  const steps = fc.nat(8);
  const arbs: fc.WeightedArbitrary<PcCmd>[] = [
    { weight: 12, arbitrary: fc.record({ t: fc.constant('alloc' as const), cpu, req: fc.nat(nreq - 1), steps }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('free' as const), cpu, arg: fc.nat(15), steps }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('step' as const), cpu, steps }) },
  ];
  if (faults.length) arbs.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('fault' as const), kind: fc.constantFrom(...faults) }) });
  return fc.oneof(...arbs);
}

export interface PcExploreResult {
  runs: number;
  situations: Map<string, number>;
  counterexample: { invariant: InvariantName; message: string; seed: number; commands: PcCmd[] } | null;
}

/** fast-check over command lists; a violation shrinks to a short list. */
export function explorePercpuChunk(
  policy: Policy<unknown>,
  opts: { seed: number; runs: number; cfg?: CheckConfig; faults?: readonly PcFault[] },
): PcExploreResult {
  const cfg = opts.cfg ?? PCPU_CHUNK_CONFIG;
  const situations = new Map<string, number>();
  const res: PcExploreResult = { runs: 0, situations, counterexample: null };
  let shrinking = false;
  const arb = fc.array(pcCmdArbitrary(cfg, policy.requests?.length ?? 1, opts.faults), { maxLength: cfg.maxCommands });
  const details = fc.check(
    fc.property(arb, (cmds) => {
      const r = runPcCommands(policy, cmds, cfg, shrinking ? undefined : situations);
      if (!shrinking) res.runs++;
      if (r.violation) {
        shrinking = true;
        throw r.violation;
      }
    }),
    { seed: opts.seed, numRuns: opts.runs },
  );
  if (!details.failed) return res;
  const err = details.errorInstance;
  if (!(err instanceof Violation)) throw err;
  const commands = details.counterexample![0] as PcCmd[];
  const v = runPcCommands(policy, commands, cfg).violation ?? err;
  res.counterexample = { invariant: v.invariant as InvariantName, message: v.detail, seed: details.seed, commands };
  return res;
}
