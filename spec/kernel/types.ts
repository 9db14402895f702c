import type { InvariantName } from '../../model/invariants.ts';
import type { Place, Witness } from './facts.ts';

// The engine's vocabulary. A kernel function is a generator: every `yield`
// is one atomic step (a preemption point); the yielded string says what the
// step did, in the words of the C it models. The engine's primitives build
// that string only when someone reads it (Kernel.labels; README.md, "Steps
// on the hot path"); a policy's own labels are always built.
export type Gen<T = void> = Generator<string, T, void>;

/** Context levels, bottom to top of a CPU's stack (BRIEF §1). */
export type Level = 'task' | 'softirq' | 'hardirq' | 'nmi';
export const LEVEL_RANK: Record<Level, number> = { task: 0, softirq: 1, hardirq: 2, nmi: 3 };

/** Anything a spec structure lives in that can be freed (a bpf_mem_cache,
 *  a kmalloc'd batch). Touching it after `freed` is a use-after-free. */
export interface Owner {
  name: string;
  freed: boolean;
  /** a cache: every object put on one of its lists has this ksize()
   *  (SizeMatchesCache) */
  readonly unitSize?: number;
  /** a percpu cache: the percpu unit (bytes) its objects carry, which
   *  ksize() of their 16-byte node does not tell apart (SizeMatchesCache) */
  readonly pptrUnit?: number;
}

/** State the engine keeps per process, not per module instance: a user
 *  policy loaded from outside the package may bring its own copy of these
 *  modules, and both copies must count and recognise the same things. */
export function shared<T extends object>(key: string, init: () => T): T {
  const g = globalThis as unknown as Record<symbol, T | undefined>;
  const sym = Symbol.for(`allocspec.${key}`);
  return (g[sym] ??= init());
}

const VIOLATION = Symbol.for('allocspec.Violation');

/** What a Place is read from: a Context (structurally; this module cannot
 *  import the engine) or a Place already. */
export interface PlaceSource {
  readonly label?: string;
  readonly ctx?: string;
  readonly level: Level;
  readonly cpu: number;
  readonly fns: readonly string[];
  readonly touched: string;
}

/** A context's place now: its stack copied (it changes as it steps). */
export function placeOf(x: PlaceSource): Place {
  return { ctx: x.ctx ?? x.label ?? '?', level: x.level, cpu: x.cpu, fns: [...x.fns], touched: x.touched };
}

/** the context taking a step (spec/kernel/sched.ts `current`, the same cell) */
const stepping = shared('current', () => ({ x: null as unknown, rec: null as unknown }));

/** A named invariant failed. Thrown out of the spec; ends the run.
 *  Recognised by brand, not by class identity, so a Violation thrown by
 *  another copy of this module (a user policy's) is still one. */
export class Violation extends Error {
  readonly [VIOLATION] = true;
  /** what happened, as data (a known finding's signature reads it) */
  readonly witness: Witness;
  constructor(
    /** one of the named invariants of model/invariants.ts */
    readonly invariant: InvariantName,
    readonly detail: string,
    /** what the judge knows beyond the context stepping now */
    w: Partial<Witness> = {},
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'Violation';
    const x = w.at !== undefined ? w.at : stepping.x;
    this.witness = { at: x ? placeOf(x as PlaceSource) : null, with: w.with ?? [], subjects: w.subjects ?? [], data: w.data ?? {}, last: w.last ?? [] };
  }
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[VIOLATION] === true;
  }
}

/** What a step did to the object it acted on, as data (the trace records
 *  it beside the label; harness/render/story.ts builds each object's story
 *  from it). */
export type ObjAct = 'from slab' | 'to slab' | 'put on list' | 'taken off list' | 'list taken whole' | 'becomes list head' | 'linked' | 'looked up' | 'read';
