// Interesting situations the exploration should reach, so that a green
// check cannot hide a blind spot: each is counted, and one never reached is
// reported as such. The situations are the policy's (each family declares
// its own beside its code, spec/<family>/situations.ts, as predicates over
// a step's event); the harness only evaluates them: after each step, the
// predicates indexed under the step's innermost kernel function or its
// context level. The faults it injects it counts itself.
import type { Context } from '../spec/kernel/context.ts';
import type { StepView } from '../spec/kernel/events.ts';
import type { Kernel } from '../spec/kernel/kernel.ts';
import type { FaultKind } from '../spec/kernel/slab.ts';
import type { Level, ObjAct } from '../spec/kernel/types.ts';
import type { Policy, Situation } from '../spec/policies/policy.ts';

export const FAULT_SITUATIONS: Record<FaultKind, string> = {
  kmalloc: 'a kmalloc failed (GFP_NOWAIT)',
  percpu: 'an __alloc_percpu_gfp failed',
  trylock: 'a spin_trylock failed',
  cpu_offline: 'a CPU went offline with work queued on it',
  page: 'an alloc_pages_node() failed while populating a percpu chunk',
  vmap: "a pcpu_map() failed (map_kernel_range_noflush()'s page tables) while populating a percpu chunk",
};

/** A policy's situations (none declared: only the engine's own). */
export function situationList(policy: Pick<Policy<unknown>, 'situations'>): readonly Situation[] {
  return policy.situations ?? [];
}

/** name -> text of a policy's situations (the report's, a worker's): the
 *  ones expected of a run (optional ones are counted, never expected). */
export function situationTexts(policy: Pick<Policy<unknown>, 'situations'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of situationList(policy)) if (!s.optional) out[s.name] ??= s.text;
  return out;
}

/** Count a situation the harness itself sees (a grace period it could not
 *  end, a reader it woke, a CPU it took offline): the spec counts none. */
export function saw(k: Kernel, name: string): void {
  const s = k.situations;
  if (s) s.set(name, (s.get(name) ?? 0) + 1);
}

/** The situations a run is expected to reach: a policy's (name -> text)
 *  and the fault kinds it injects. */
export function expectedSituations(texts: Record<string, string>, faults: readonly FaultKind[]): Record<string, string> {
  const out = { ...texts };
  for (const f of faults) out[`fault:${f}`] = FAULT_SITUATIONS[f];
  return out;
}

type When = (x: StepView, k: Kernel) => boolean | number;
interface Indexed {
  name: string;
  act: ObjAct | null;
  when: When;
}

/** A list's predicates indexed: by innermost kernel function, by level,
 *  those asked at a context's first step, and those asked at every step.
 *  Built once per list. */
interface Index {
  byFn: Map<string, Indexed[]>;
  byEntry: Map<string, Indexed[]>;
  byLevel: Partial<Record<Level, Indexed[]>>;
  first: Indexed[];
  every: Indexed[];
}
const indexes = new WeakMap<readonly Situation[], Index | null>();

function indexOf(list: readonly Situation[]): Index | null {
  let ix = indexes.get(list);
  if (ix !== undefined) return ix;
  const byFn = new Map<string, Indexed[]>();
  const byEntry = new Map<string, Indexed[]>();
  const byLevel: Partial<Record<Level, Indexed[]>> = {};
  const first: Indexed[] = [];
  const every: Indexed[] = [];
  for (const s of list) {
    if (!s.when) continue;
    const e: Indexed = { name: s.name, act: s.act ?? null, when: s.when };
    if (s.fns) {
      for (const f of s.fns) {
        let l = byFn.get(f);
        if (!l) byFn.set(f, (l = []));
        l.push(e);
      }
    } else if (s.entering) {
      for (const f of s.entering) {
        let l = byEntry.get(f);
        if (!l) byEntry.set(f, (l = []));
        l.push(e);
      }
    } else if (s.level) (byLevel[s.level] ??= []).push(e);
    else if (s.first) first.push(e);
    else every.push(e);
  }
  ix = byFn.size || byEntry.size || every.length || first.length || Object.keys(byLevel).length ? { byFn, byEntry, byLevel, first, every } : null;
  indexes.set(list, ix);
  return ix;
}

/** Count the policy's predicate situations in k.situations after each
 *  step (chained after the model's per-step check). Only while coverage is
 *  collected: a run without it pays nothing. A step asks only the
 *  predicates indexed under its innermost kernel function, and under its
 *  level. */
export function installSituations(k: Kernel, list: readonly Situation[]): void {
  const counts = k.situations;
  if (!counts) return;
  // the faults the harness armed, as the slab consumes them
  k.slab.onFault = (kind) => counts.set(`fault:${kind}`, (counts.get(`fault:${kind}`) ?? 0) + 1);
  const ix = indexOf(list);
  if (!ix) return;
  const steps = new StepSituations(k, counts, ix);
  const prev = k.onStep;
  k.onStep =
    prev === null
      ? (x) => steps.evaluate(x)
      : (x) => {
          prev(x);
          steps.evaluate(x);
        };
}

/** One run's evaluation of an index after each step (an object made once
 *  per run, not closures: a run is a few hundred steps, and its set-up
 *  counts). */
class StepSituations {
  private readonly byFn: Map<string, Indexed[]>;
  private readonly byEntry: Map<string, Indexed[]> | null;
  private readonly first: Indexed[] | null;
  private readonly task: Indexed[] | null;
  private readonly softirq: Indexed[] | null;
  private readonly hardirq: Indexed[] | null;
  private readonly nmi: Indexed[] | null;
  private readonly all: Indexed[] | null;
  /** most steps are a task's in a function with no predicate: one test */
  private readonly quietTasks: boolean;
  // consecutive steps are mostly in one function: look it up once
  private lastFn: string | null = null;
  private lastList: Indexed[] | null = null;

  constructor(
    private readonly k: Kernel,
    private readonly counts: Map<string, number>,
    ix: Index,
  ) {
    this.byFn = ix.byFn;
    this.first = ix.first.length ? ix.first : null;
    this.byEntry = ix.byEntry.size ? ix.byEntry : null;
    this.task = ix.byLevel.task ?? null;
    this.softirq = ix.byLevel.softirq ?? null;
    this.hardirq = ix.byLevel.hardirq ?? null;
    this.nmi = ix.byLevel.nmi ?? null;
    this.all = ix.every.length ? ix.every : null;
    this.quietTasks = this.task === null && this.all === null;
  }

  private count(l: Indexed[], x: Context): void {
    for (let i = 0; i < l.length; i++) {
      const e = l[i]!;
      if (e.act !== null && e.act !== x.act) continue;
      const n = e.when(x, this.k);
      if (n) this.counts.set(e.name, (this.counts.get(e.name) ?? 0) + (n === true ? 1 : n));
    }
  }

  /** the predicates of a step's level (and those of every step) */
  private slow(x: Context, l: Indexed[] | null): void {
    if (l !== null) this.count(l, x);
    const level = x.level;
    const m = level === 'task' ? this.task : level === 'nmi' ? this.nmi : level === 'softirq' ? this.softirq : this.hardirq;
    if (m !== null) this.count(m, x);
    if (this.all !== null) this.count(this.all, x);
  }

  evaluate(x: Context): void {
    const fns = x.fns;
    const fn = fns.length !== 0 ? fns[fns.length - 1]! : '';
    if (fn !== this.lastFn) {
      this.lastFn = fn;
      this.lastList = this.byFn.get(fn) ?? null;
    }
    if (this.lastList !== null || x.level !== 'task' || !this.quietTasks) this.slow(x, this.lastList);
    if (this.first !== null && x.nsteps === 1) this.count(this.first, x);
    // the functions this step entered (fns[entered..])
    const byEntry = this.byEntry;
    if (byEntry !== null) {
      for (let i = x.entered; i < fns.length; i++) {
        const l = byEntry.get(fns[i]!);
        if (l !== undefined) this.count(l, x);
      }
    }
    x.entered = fns.length;
    // what a step touched, its object and act are its own: the tracer
    // clears them when it records them, and so does this when nothing does
    if (this.k.tracer === null) {
      x.op = '';
      x.touchedText = '';
      x.target = null;
      x.obj = null;
      x.act = null;
    }
  }
}
