// The one command table. Each command kind says, in one place: its fields
// (each with its fast-check arbitrary, its seeded draw, its fixture schema
// and its simplest value), its weight, its text, and the action it runs.
// Every strategy (uniform and swarm through fast-check, PCT, exhaustive),
// the shrinker and the fixture validator read this table and nothing else.
// Commands are plain data so fixtures can hold them; every command that
// names a CPU also carries a step budget, so preemption points shrink.
import fc from 'fast-check';
import { z } from 'zod';
import { FAULT_KINDS, type FaultKind } from '../spec/kernel/slab.ts';
import type { CheckConfig } from './config.ts';
import * as act from './actions.ts';
import type { Run } from './actions.ts';
import { interruptPending, irqWorkFor, workFor, type Action } from '../spec/kernel/sched.ts';

export { OPS, faultKinds, genCtx, type Cmd, type CmdOf, type GenCtx, type Kind, type Op, type Rng } from './cmd.ts';
import type { Cmd, CmdOf, GenCtx, Kind, Op, Rng } from './cmd.ts';
import { OPS } from './cmd.ts';
import { saw } from './coverage.ts';

const natR = (r: Rng, max: number): number => Math.floor(r() * (max + 1));

/** One field of a command: how to generate, draw, validate and simplify it. */
interface Field<T> {
  arb(g: GenCtx): fc.Arbitrary<T>;
  draw(r: Rng, g: GenCtx): T;
  schema: z.ZodType<T>;
  /** the value simplification moves towards (null: not simplified) */
  simplest: T | null;
}

const int = (min: number) => z.number().int().min(min);

const cpu: Field<number> = { arb: (g) => fc.nat(g.cfg.cpus - 1), draw: (r, g) => natR(r, g.cfg.cpus - 1), schema: int(0), simplest: 0 };
/** Step budgets: mostly a few steps (preemption points inside one
 *  function), sometimes far into a long loop (alloc_bulk, free_bulk). */
const steps: Field<number> = {
  arb: () => fc.oneof({ weight: 9, arbitrary: fc.nat(6) }, { weight: 1, arbitrary: fc.integer({ min: 7, max: 64 }) }),
  draw: (r) => (r() < 0.9 ? natR(r, 6) : 7 + natR(r, 57)),
  schema: int(0),
  simplest: 0,
};
const argMax = (g: GenCtx): number => Math.max(7, (g.nreq ?? 0) - 1);
const arg: Field<number> = { arb: (g) => fc.nat(argMax(g)), draw: (r, g) => natR(r, argMax(g)), schema: int(0), simplest: 0 };
const count: Field<number> = { arb: () => fc.integer({ min: 1, max: 4 }), draw: (r) => 1 + natR(r, 3), schema: int(1), simplest: 1 };
const burstN: Field<number> = { arb: () => fc.integer({ min: 1, max: 8 }), draw: (r) => 1 + natR(r, 7), schema: int(1), simplest: 1 };
/** How long a lookup holds its object: absent, or 1..HOLD_MAX. It has no
 *  randomness of its own: the prog kind derives it (holdOf) from bits a
 *  lookup does not otherwise use, so a seed generates every command it
 *  generated before the field existed, and the runs of a seed differ only
 *  from a holding lookup on. */
export const HOLD_MAX = 8;
const hold: Field<number | undefined> = {
  arb: () => fc.constant(undefined),
  draw: () => undefined,
  schema: int(1).max(HOLD_MAX).optional(),
  simplest: undefined,
};
/** A generated lookup's hold: none when its (unused) count is 1 or 4, so
 *  half the lookups stay the two steps they were; with count 2 or 3, one
 *  of 1..HOLD_MAX picked by the count and the object. */
function holdOf(c: CmdOf<'prog'>): CmdOf<'prog'> {
  if (c.op !== 'lookup' || c.count === 1 || c.count === 4) return c;
  return { ...c, hold: 1 + ((c.count - 2 + 2 * c.arg) % HOLD_MAX) };
}
/** An NMI program's step budget: absent (to its end) unless a schedule
 *  names it. No randomness of its own, so generation is as before. */
const nmiSteps: Field<number | undefined> = {
  arb: () => fc.constant(undefined),
  draw: () => undefined,
  schema: int(1).optional(),
  simplest: undefined,
};
/** The CPU whose programs' objects a free or lookup names (exhaustive
 *  letters only): never generated, absent in every fixture before it. */
const from: Field<number | undefined> = {
  arb: () => fc.constant(undefined),
  draw: () => undefined,
  schema: int(0).optional(),
  simplest: null,
};
const bool: Field<boolean> = { arb: () => fc.boolean(), draw: (r) => r() < 0.5, schema: z.boolean(), simplest: false };
const progOp: Field<Op> = {
  arb: (g) => fc.constantFrom(...g.ops),
  draw: (r, g) => g.ops[natR(r, g.ops.length - 1)]!,
  schema: z.enum(OPS as unknown as [Op, ...Op[]]),
  simplest: 'alloc',
};
const nmiOp: Field<Op> = {
  arb: (g) => fc.constantFrom(...g.ops.filter((o) => o !== 'lookup')),
  draw: (r, g) => {
    const ops = g.ops.filter((o) => o !== 'lookup');
    return ops[natR(r, ops.length - 1)]!;
  },
  schema: progOp.schema,
  simplest: 'alloc',
};
const flavour: Field<'rcu' | 'rcu_tasks_trace'> = {
  arb: () => fc.constantFrom('rcu' as const, 'rcu_tasks_trace' as const),
  draw: (r) => (r() < 0.5 ? 'rcu' : 'rcu_tasks_trace'),
  schema: z.enum(['rcu', 'rcu_tasks_trace']),
  simplest: null,
};
const fault: Field<FaultKind> = {
  arb: (g) => fc.constantFrom(...g.faults),
  draw: (r, g) => g.faults[natR(r, g.faults.length - 1)]!,
  schema: z.enum(FAULT_KINDS as unknown as [FaultKind, ...FaultKind[]]),
  simplest: null,
};

type Fields<C extends Cmd> = { [F in Exclude<keyof C, 't'>]: Field<C[F]> };

export interface CommandKind<C extends Cmd> {
  /** weight in uniform generation: the paths where bugs live weigh more */
  weight: number;
  /** generated at all under this policy and configuration */
  generated(g: GenCtx): boolean;
  fields: Fields<C>;
  text(c: C): string;
  /** the engine action the command asks for on `cpu` (the command's CPU,
   *  or the next one when that one had nothing to do), or null when there
   *  is nothing to name (no irq_work queued there); whether it may run is
   *  spec/kernel/sched.ts allowed()'s to say, and nothing else's */
  toAction(run: Run, c: C, cpu: number): Action | null;
  /** run the command as that action (allowed() admitted it): what it did */
  run(run: Run, c: C, a: Action): string;
  /** the command's action was not allowed (coverage notes why) */
  refused?(run: Run, c: C): void;
  /** commands of the bounded exhaustive alphabet, per CPU where it has one */
  alphabet(g: GenCtx, cpu: number): C[];
  /** fields generated from the others (no randomness of their own),
   *  applied to every generated and drawn command of the kind */
  derive?(c: C): C;
}

const n = (s: number): string => (s === 0 ? 'to end' : `${s} step${s === 1 ? '' : 's'}`);
/** The CPU an action runs on (the kinds that have one). */
const CPU = (a: Action): number => (a as { cpu: number }).cpu;
const objArg = (op: Op, a: number, from?: number): string => (op === 'alloc' ? '' : ` #${a}${from === undefined ? '' : ` of cpu${from}`}`);
const always = (): boolean => true;

export const COMMANDS: { [K in Kind]: CommandKind<CmdOf<K>> } = {
  prog: {
    weight: 12,
    generated: always,
    fields: { cpu, op: progOp, arg, count, sleepable: bool, steps, hold, from },
    text: (c) =>
      `prog cpu${c.cpu} ${c.op}${c.count > 1 && c.op !== 'lookup' ? ` x${c.count}` : ''}${objArg(c.op, c.arg, c.from)}${c.sleepable ? ' sleepable' : ''}${c.hold !== undefined && c.op === 'lookup' ? ` holding ${c.hold}` : ''}, ${n(c.steps)}`,
    toAction: (run, _c, cpu) => run.slots.task[cpu]!,
    run: (run, c, a) => act.prog(run, CPU(a), 'task', c.op, c.arg, c.count, c.sleepable, c.steps, undefined, c.hold, c.from),
    alphabet: (g, at) => g.ops.flatMap((op) => [0, 1].map((s) => ({ t: 'prog' as const, cpu: at, op, arg: 0, count: 1, sleepable: false, steps: s }))),
    derive: holdOf,
  },
  nmi: {
    weight: 6,
    generated: (g) => g.cfg.nmi && !g.syscall,
    fields: { cpu, op: nmiOp, arg, steps: nmiSteps, from },
    text: (c) => `nmi cpu${c.cpu} ${c.op}${objArg(c.op, c.arg, c.from)}${c.steps !== undefined ? `, ${n(c.steps)}` : ''}`,
    toAction: (run, _c, cpu) => run.slots.nmi[cpu]!,
    run: (run, c, a) => act.prog(run, CPU(a), 'nmi', c.op, c.arg, 1, false, c.steps ?? 0, undefined, undefined, c.from),
    alphabet: (g, at) => g.ops.filter((o) => o !== 'lookup').map((op) => ({ t: 'nmi' as const, cpu: at, op, arg: 0 })),
  },
  burst: {
    weight: 2,
    generated: (g) => g.cfg.nmi && !g.syscall,
    fields: { cpu, n: burstN, op: nmiOp, arg },
    text: (c) => `burst cpu${c.cpu}: ${c.n} x (1 step, nmi ${c.op}${objArg(c.op, c.arg)})`,
    toAction: (run, _c, cpu) => run.slots.burst[cpu]!,
    run: (run, c, a) => act.burst(run, CPU(a), c.n, c.op, c.arg),
    alphabet: () => [],
  },
  handoff: {
    weight: 1,
    generated: (g) => g.cfg.cpus > 1,
    fields: { cpu, n: burstN, count },
    text: (c) => `handoff cpu${c.cpu}: ${c.n} x (alloc${c.count > 1 ? ` x${c.count}` : ''}, free on the next CPU)`,
    toAction: (run, _c, cpu) => run.slots.task[cpu]!,
    run: (run, c, a) => act.handoff(run, CPU(a), c.n, c.count),
    alphabet: () => [],
  },
  step: {
    weight: 6,
    generated: always,
    fields: { cpu, steps },
    text: (c) => `step cpu${c.cpu}, ${n(c.steps)}`,
    // with an interrupt pending the CPU takes it first (R8): the interrupt
    // is what the command asks for
    toAction: (run, _c, cpu) => {
      const w = interruptPending(run.k, cpu);
      return w ? { kind: 'irq', cpu, work: w } : run.slots.step[cpu]!;
    },
    run: (run, c, a) => act.step(run, CPU(a), c.steps),
    alphabet: (_g, at) => [0, 1].map((s) => ({ t: 'step' as const, cpu: at, steps: s })),
  },
  irq: {
    weight: 6,
    generated: always,
    fields: { cpu, steps },
    text: (c) => `irq cpu${c.cpu}, ${n(c.steps)}`,
    toAction: (run, _c, cpu) => {
      const work = irqWorkFor(run.k, cpu);
      return work ? { kind: 'irq', cpu, work } : null;
    },
    run: (run, c, a) => {
      const w = (a as Extract<Action, { kind: 'irq' }>).work;
      return act.act(run, a, c.steps, { t: 'irq', cpu: CPU(a), steps: c.steps }, (x) => `${x!.label} on cpu${CPU(a)}: ${w.fnName}(${w.owner.name})`);
    },
    alphabet: (_g, at) => [0, 1].map((s) => ({ t: 'irq' as const, cpu: at, steps: s })),
  },
  softirq: {
    weight: 6,
    generated: always,
    fields: { cpu, steps },
    text: (c) => `softirq cpu${c.cpu}, ${n(c.steps)}`,
    toAction: (run, _c, cpu) => run.slots.softirq[cpu]!,
    run: (run, c, a) => act.act(run, a, c.steps, { t: 'softirq', cpu: CPU(a), steps: c.steps }, (x) => `${x!.label} on cpu${CPU(a)}: callback`),
    alphabet: (_g, at) => [0, 1].map((s) => ({ t: 'softirq' as const, cpu: at, steps: s })),
  },
  kworker: {
    weight: 3,
    generated: always,
    fields: { cpu, steps },
    text: (c) => `kworker cpu${c.cpu}, ${n(c.steps)}`,
    toAction: (run, _c, cpu) => {
      const work = workFor(run.k, cpu);
      return work ? { kind: 'kworker', cpu, work } : null;
    },
    run: (run, c, a) => {
      const w = (a as Extract<Action, { kind: 'kworker' }>).work;
      return act.act(run, a, c.steps, { t: 'kworker', cpu: CPU(a), steps: c.steps }, (x) => `${x!.label} on cpu${CPU(a)}: ${w.fnName}`);
    },
    alphabet: (_g, at) => [0, 1].map((s) => ({ t: 'kworker' as const, cpu: at, steps: s })),
  },
  gp: {
    weight: 8,
    generated: always,
    fields: { flavour },
    text: (c) => `gp ${c.flavour}`,
    toAction: (run, c) => run.slots.gp[c.flavour],
    run: (run, c, a) => act.act(run, a, 0, { t: 'gp', flavour: c.flavour }, () => `${c.flavour} grace period ends`),
    // a grace period that cannot end yet: a reader holds it (coverage)
    refused: (run, c) => {
      if (run.k.rcu.of(c.flavour).gp) saw(run.k, 'grace-period-held-by-reader');
    },
    alphabet: (_g, at) => (at === 0 ? [{ t: 'gp' as const, flavour: 'rcu' as const }, { t: 'gp' as const, flavour: 'rcu_tasks_trace' as const }] : []),
  },
  fault: {
    weight: 2,
    generated: (g) => g.cfg.faults && g.faults.length > 0,
    fields: { kind: fault },
    text: (c) => `fault ${c.kind}`,
    toAction: (run, c) => run.slots.fault[c.kind],
    run: (run, c) => act.fault(run, c.kind),
    alphabet: (g, at) => (at === 0 ? g.faults.map((kind) => ({ t: 'fault' as const, kind })) : []),
  },
  destroy: {
    weight: 1,
    generated: always,
    fields: { cpu, steps },
    text: (c) => `destroy cpu${c.cpu}, ${n(c.steps)}`,
    toAction: (run, _c, cpu) => run.slots.destroy[cpu]!,
    run: (run, c, a) => act.destroy(run, CPU(a), c.steps),
    alphabet: (_g, at) => [{ t: 'destroy' as const, cpu: at, steps: 0 }, { t: 'destroy' as const, cpu: at, steps: 1 }],
  },
  quiesce: {
    weight: 1,
    generated: always,
    fields: {},
    text: () => 'quiesce',
    toAction: (run) => run.slots.quiesce,
    run: (run) => act.quiesce(run),
    alphabet: (_g, at) => (at === 0 ? [{ t: 'quiesce' as const }] : []),
  },
};

export const CMD_KINDS = Object.keys(COMMANDS) as Kind[];

function kindOf<K extends Kind>(t: K): CommandKind<CmdOf<K>> {
  return COMMANDS[t] as CommandKind<CmdOf<K>>;
}

export function cmdText(c: Cmd): string {
  return (kindOf(c.t).text as (c: Cmd) => string)(c);
}

/** The table's entry for c's kind, as one type for every kind: a caller
 *  that asks it several things about one command looks it up once. */
export function commandOf(c: Cmd): CommandKind<Cmd> {
  return COMMANDS[c.t] as unknown as CommandKind<Cmd>;
}

/** The action c asks for on cpu, through the table. */
export function toAction(run: Run, c: Cmd, cpu: number): Action | null {
  return (kindOf(c.t).toAction as (s: Run, c: Cmd, cpu: number) => Action | null)(run, c, cpu);
}

/** Run c as action a (allowed() admitted it), through the table. */
export function runAction(run: Run, c: Cmd, a: Action): string {
  return (kindOf(c.t).run as (s: Run, c: Cmd, a: Action) => string)(run, c, a);
}

/** c's action was not allowed: what the table notes about it. */
export function refused(run: Run, c: Cmd): void {
  (kindOf(c.t).refused as ((s: Run, c: Cmd) => void) | undefined)?.(run, c);
}

const FIELDS = new Map<Kind, [string, Field<unknown>][]>();
function fieldsOf(t: Kind): [string, Field<unknown>][] {
  let f = FIELDS.get(t);
  if (!f) FIELDS.set(t, (f = Object.entries(kindOf(t).fields) as [string, Field<unknown>][]));
  return f;
}

/** One kind's fast-check arbitrary. */
export function kindArbitrary(t: Kind, g: GenCtx, cpuArb?: fc.Arbitrary<number>): fc.Arbitrary<Cmd> {
  const rec: Record<string, fc.Arbitrary<unknown>> = { t: fc.constant(t) };
  for (const [name, f] of fieldsOf(t)) rec[name] = name === 'cpu' && cpuArb ? cpuArb : f.arb(g);
  const arb = fc.record(rec) as unknown as fc.Arbitrary<Cmd>;
  const derive = kindOf(t).derive as ((c: Cmd) => Cmd) | undefined;
  return derive ? arb.map(derive) : arb;
}

/** One kind drawn with a seeded PRNG (PCT), the CPU chosen by the caller. */
export function drawKind(t: Kind, g: GenCtx, r: Rng, at: number): Cmd {
  const c: Record<string, unknown> = { t };
  for (const [name, f] of fieldsOf(t)) c[name] = name === 'cpu' ? at : f.draw(r, g);
  const derive = kindOf(t).derive as ((c: Cmd) => Cmd) | undefined;
  return derive ? derive(c as Cmd) : (c as Cmd);
}

/** Kinds generated under g, with their table weights. */
export function generatedKinds(g: GenCtx): [Kind, number][] {
  return CMD_KINDS.filter((t) => kindOf(t).generated(g)).map((t) => [t, kindOf(t).weight]);
}

/** Uniform generation: every generated kind at its table weight. */
export function cmdArbitrary(g: GenCtx): fc.Arbitrary<Cmd> {
  return fc.oneof(...generatedKinds(g).map(([t, weight]) => ({ weight, arbitrary: kindArbitrary(t, g) })));
}

/** Swarm testing (Groce et al.): each run first draws which kinds are on
 *  and how heavily, and possibly one CPU most commands go to; runs then
 *  differ in kind, so bursts of one kind of interrupt on one CPU inside one
 *  operation come up often, where a fixed mix would make them rare. */
export interface Swarm {
  /** weight per kind, 0 = off */
  weights: Partial<Record<Kind, number>>;
  /** most CPU fields pick this CPU */
  focus: number | null;
}

export function swarmArbitrary(g: GenCtx): fc.Arbitrary<Swarm> {
  const kinds = generatedKinds(g);
  const w: Record<string, fc.Arbitrary<number>> = {};
  for (const [t, weight] of kinds) {
    // programs and steps always run: without them nothing happens
    w[t] = t === 'prog' || t === 'step' ? fc.constantFrom(weight, weight * 3) : t === 'destroy' ? fc.constantFrom(0, weight) : fc.constantFrom(0, weight, weight, weight * 4);
  }
  return fc.record({ weights: fc.record(w), focus: fc.option(fc.nat(g.cfg.cpus - 1), { freq: 2 }) }) as unknown as fc.Arbitrary<Swarm>;
}

/** Each kind's arbitrary for a GenCtx and a swarm focus: an arbitrary is
 *  immutable, so runs share them instead of building their own (what each
 *  run generates is the same). Only the weighted choice among the kinds a
 *  swarm turns on is built per run: swarms rarely repeat. */
const kindArbs = new WeakMap<GenCtx, Map<number | null, Map<Kind, fc.Arbitrary<Cmd>>>>();

export function swarmCmdArbitrary(g: GenCtx, s: Swarm): fc.Arbitrary<Cmd> {
  let byFocus = kindArbs.get(g);
  if (!byFocus) kindArbs.set(g, (byFocus = new Map()));
  let arbs = byFocus.get(s.focus);
  if (!arbs) {
    const cpuArb = s.focus === null ? undefined : fc.oneof({ weight: 4, arbitrary: fc.constant(s.focus) }, { weight: 1, arbitrary: fc.nat(g.cfg.cpus - 1) });
    arbs = new Map(generatedKinds(g).map(([t]) => [t, kindArbitrary(t, g, cpuArb)]));
    byFocus.set(s.focus, arbs);
  }
  const on: { weight: number; arbitrary: fc.Arbitrary<Cmd> }[] = [];
  for (const [t, arbitrary] of arbs) {
    const weight = s.weights[t] ?? 0;
    if (weight > 0) on.push({ weight, arbitrary });
  }
  return fc.oneof(...on);
}

/** Simpler versions of c, one field at a time towards its simplest value. */
export function simpler(c: Cmd): Cmd[] {
  const out: Cmd[] = [];
  for (const [name, f] of fieldsOf(c.t)) {
    const v = (c as Record<string, unknown>)[name];
    if (f.simplest !== null && v !== f.simplest) out.push({ ...c, [name]: f.simplest } as Cmd);
  }
  return out;
}

/** The exhaustive mode's alphabet. */
export function alphabetOf(g: GenCtx): Cmd[] {
  const out: Cmd[] = [];
  for (let at = 0; at < g.cfg.cpus; at++) for (const [t] of generatedKinds(g)) out.push(...kindOf(t).alphabet(g, at));
  return out;
}

/** The fixture schema of a command, from the table's fields. */
export const CmdSchema = z.discriminatedUnion(
  't',
  CMD_KINDS.map((t) => {
    const shape: Record<string, z.ZodType> = { t: z.literal(t) };
    for (const [name, f] of fieldsOf(t)) shape[name] = f.schema;
    return z.strictObject(shape);
  }) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<Cmd>;
