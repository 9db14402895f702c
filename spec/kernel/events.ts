// What a step did, as data: the event each atomic step emits (issue 19).
// A step is still a generator's `yield` (one `yield`, one step); the engine
// (sched.ts step()) turns what the step's primitives recorded on the
// context into one Event:
//
//   { seq, ctx, cpu, level, op, obj, act, target, fns, reads, writes, label }
//
// `reads`/`writes` are the step's footprint: the owners of state it read and
// wrote (Loc). The primitives record them where they already see every
// access (llist.ts, atomic.ts, spinlock.ts, irq_work.ts, workqueue.ts,
// rcupdate.ts, slab.ts, mutex.ts, and the field accessors of fields.ts),
// so the spec's kernel code records nothing itself. A step whose footprint
// the engine cannot know counts as touching everything (EVERYTHING): sound,
// only coarser. That is every step of a family that does not declare its
// footprints exact (Policy.footprints, Kernel.coarse: a family is exact
// when every piece of shared state its code touches sits behind a
// primitive or a fields.ts accessor, which the audit checks), and a wait
// whose condition names nothing. test/spec/kernel/
// footprint.test.ts audits the rest: a write outside a step's footprint
// fails it.
//
// The label stays the kernel's words, carried beside the event as data and
// never parsed back. Events are built only when somebody keeps them
// (Kernel.record: fire()'s caller, a trace, the footprint audit, a proof);
// exploring quietly, a step records its footprint on the context and builds
// nothing (README.md, "Steps on the hot path").
import { shared, type Level, type ObjAct } from './types.ts';
import type { Obj } from './obj.ts';

/** Something a step can read or write, named: a list head, a counter, a
 *  lock, an irq_work, a work, an rcu_head, an RCU flavour's state, the slab,
 *  an allocator object (its link and state), or a freeable structure (an
 *  Owner: its plain fields, read through spec/kernel/fields.ts). Compared
 *  by identity within a run; names are stable across runs. */
export interface Loc {
  readonly name: string;
}

/** The footprint of a step the engine cannot see into: everything. */
export const EVERYTHING: Loc = Object.freeze({ name: '*' });
const ALL: readonly Loc[] = Object.freeze([EVERYTHING]);
const NONE: readonly Loc[] = Object.freeze([]);

/** One atomic step, as data. */
export interface Event {
  /** the kernel's step count after this step (Kernel.steps): its place in the run */
  readonly seq: number;
  /** the context that stepped: its stable label (prog0, irq_work1, ...) */
  readonly ctx: string;
  readonly cpu: number;
  readonly level: Level;
  /** the primitive that took the step (llist_add, local_inc_return,
   *  raw_spin_lock, kmalloc, ...); 'code' for the spec's own yield,
   *  'return' for the step in which the context's body returned */
  readonly op: string;
  /** the object the step acted on and what it did to it */
  readonly obj: Obj | null;
  readonly act: ObjAct | null;
  /** the owner the step acted on (a list head, a counter, ...) */
  readonly target: Loc | null;
  /** what the step touched, as the trace names it (target's name, or what
   *  the spec's own code named) */
  readonly touched: string;
  /** kernel functions, outermost first */
  readonly fns: readonly string[];
  readonly reads: readonly Loc[];
  readonly writes: readonly Loc[];
  /** the step's label: the C it models with the values it read (built
   *  only when labels are wanted: Kernel.labels) */
  readonly label: string;
}

/** What a coverage situation sees of a step (spec/policies/policy.ts
 *  Situation): the fields of its Event. While exploring no Event is built:
 *  the context that took the step serves as the view (it holds the same
 *  fields until the step's reader clears them), with its identity for
 *  predicates that ask about the rest of the machine. */
export interface StepView {
  readonly cpu: number;
  readonly level: Level;
  readonly fns: readonly string[];
  /** the innermost kernel function */
  readonly fn: string;
  readonly op: string;
  readonly obj: Obj | null;
  readonly act: ObjAct | null;
  readonly target: Loc | null;
  /** the value an atomic_xchg() step found (its old value) */
  readonly old: number;
  readonly touched: string;
  /** the context's stable label and id, and whether it is a program */
  readonly label: string;
  readonly id: number;
  readonly isProg: boolean;
  /** steps the context has taken, this one included (1: its first) */
  readonly nsteps: number;
  /** fns[entered..] are the kernel functions this step entered */
  readonly entered: number;
}

/** The footprint of one step, as the primitives record it on the context
 *  (Context.rd / Context.wr / Context.op / Context.target). The arrays are
 *  kept across steps and only their first nrd / nwr entries count (a step
 *  allocates nothing: truncating an array frees its store). */
export interface Footprint {
  /** this step's footprint is being recorded (someone keeps its event):
   *  exploring quietly, nothing is stored (a pointer store costs a write
   *  barrier) */
  rec: boolean;
  rd: Loc[];
  nrd: number;
  wr: Loc[];
  nwr: number;
  op: string;
  target: Loc | null;
  /** the step's own code named what it touched as text only */
  touchedText: string;
}

/** A step read loc. */
export function reads(x: Footprint, loc: Loc): void {
  if (x.rec) x.rd[x.nrd++] = loc;
}

/** A step wrote loc (a write is a read too, for dependence). */
export function writes(x: Footprint, loc: Loc): void {
  if (x.rec) x.wr[x.nwr++] = loc;
}

/** The primitive taking this step acts on loc: it reads it (and writes it
 *  when `write`), and it is what the trace shows as touched. */
export function acts(x: Footprint, op: string, loc: Loc, write: boolean): void {
  x.op = op;
  x.target = loc;
  x.touchedText = '';
  if (!x.rec) return;
  if (write) x.wr[x.nwr++] = loc;
  else x.rd[x.nrd++] = loc;
}

/** The step frees structures (free_percpu() of a cache array, kfree() of
 *  a kmalloc'd structure written out by the spec): it writes the slab and
 *  each structure, and the trace shows the first as touched. */
export function freesStructs(x: Footprint & { k: { slab: Loc } }, first: Loc, more: readonly Loc[] = []): void {
  acts(x, 'free_percpu', first, true);
  writes(x, x.k.slab);
  for (const m of more) writes(x, m);
}

/** Is the step's footprint unknown (it counts as touching everything)?
 *  A wait whose condition was not named said so (EVERYTHING). */
export function unknownFootprint(x: Footprint): boolean {
  for (let i = 0; i < x.nwr; i++) if (x.wr[i] === EVERYTHING) return true;
  return false;
}

/** Do two footprints conflict (one writes what the other reads or writes)?
 *  EVERYTHING conflicts with every step. */
export function conflict(a: Pick<Event, 'reads' | 'writes'>, b: Pick<Event, 'reads' | 'writes'>): boolean {
  if (isCoarse(a) || isCoarse(b)) return true;
  for (const w of a.writes) if (b.writes.includes(w) || b.reads.includes(w)) return true;
  for (const w of b.writes) if (a.reads.includes(w)) return true;
  return false;
}

/** Footprint arrays for an event: copies of what the step recorded, or
 *  EVERYTHING when it is unknown. */
export function footprintOf(x: Footprint, coarse: boolean): { reads: readonly Loc[]; writes: readonly Loc[] } {
  if (coarse || unknownFootprint(x)) return { reads: ALL, writes: ALL };
  return { reads: x.nrd ? x.rd.slice(0, x.nrd) : NONE, writes: x.nwr ? x.wr.slice(0, x.nwr) : NONE };
}

/** Does the event count as touching everything? */
export function isCoarse(e: Pick<Event, 'writes'>): boolean {
  return e.writes === ALL || e.writes.includes(EVERYTHING);
}

/** Names of a footprint, for reports and tests. */
export function names(locs: readonly Loc[]): string[] {
  return locs.map((l) => l.name);
}

// ---- facts ----
//
// What the kernel itself would notice, reported by the engine and the spec
// as it happens: a WARN fired, an oops, a context spinning on a lock its
// own CPU holds beneath it, a freed structure touched, an object freed
// twice. The engine names what happened; the model names the invariant it
// breaks (model/invariants.ts: each invariant lists the facts it judges,
// model/judges.ts throws the Violation). A fact ends the run.

export { FACT_KINDS, type FactKind, type Place, type Witness } from './facts.ts';
import type { FactKind, Witness } from './facts.ts';


export interface Fact {
  readonly fact: FactKind;
  /** what happened, in the kernel's words, naming the context */
  readonly text: string;
  /** the same as data, beyond the context stepping now (who holds the
   *  lock it spins on, what structure it is about) */
  readonly witness?: Partial<Witness>;
}

/** The model's judge, installed by model/judges.ts (per process, so a
 *  policy's own copy of this module reports to the same model). */
const judges = shared('judge', () => ({ judge: null as ((f: Fact) => never) | null }));

export function installJudge(judge: (f: Fact) => never): void {
  judges.judge = judge;
}

/** Report a fact: the model judges it (a Violation ends the run). */
export function report(fact: FactKind, text: string, witness?: Partial<Witness>): never {
  const j = judges.judge;
  if (j === null) throw new Error(`spec: '${fact}' reported with no model loaded (import model/judges.ts): ${text}`);
  return j(witness ? { fact, text, witness } : { fact, text });
}
