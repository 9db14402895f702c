// A known finding, named by what happened: the invariant it breaks plus a
// signature over the violation's witness (spec/kernel/facts.ts: the
// context whose step broke it, the contexts the judge names beside it, the
// structures it is about, and, when asked, the last step that touched each
// object it is about). A violation of the same invariant that the
// signature does not match is a new violation: the check fails on it.
//
// A signature is a small predicate a reviewer can read, written with the
// helpers below, and one line saying the same in words:
//
//   {
//     name: 'nmi-spins-on-reuse-lock',
//     invariant: 'NoDeadlock',
//     signature: 'an NMI free in wait_gp_reuse_free() spins on reuse_lock held beneath it by an RCU callback or bpf_ma_get_reusable_obj()',
//     match: (w) => firesIn(w, 'wait_gp_reuse_free') && touches(w, 'reuse_lock') && heldIn(w, 'bpf_ma_reuse_cb', ...),
//   }
//
// The finding's saved fixture is the signature's test: replayed, its
// violation must match (harness/regress.ts), and test/harness/findings.test.ts
// keeps a near miss that must not.
import type { InvariantName } from '../../model/invariants.ts';
import type { Place, Witness } from '../kernel/facts.ts';
import type { Level } from '../kernel/types.ts';

export type { Place, Witness };

export interface Finding {
  /** what happened, in a few words (kebab-case, unique in the policy):
   *  reports, fixtures and the hit-rate baseline name the finding by it */
  readonly name: string;
  /** the invariant it breaks */
  readonly invariant: InvariantName;
  /** the signature in words: the function where it fires, the structure
   *  it touches, the contexts involved */
  readonly signature: string;
  /** the signature as a predicate over the violation's witness */
  match(w: Witness): boolean;
  /** match reads w.last (the last step that touched each object the
   *  violation is about): the harness fills it from a recorded replay of
   *  the run, for violations of this invariant only */
  readonly last?: boolean;
  /** the configurations that show it (default: every one the policy's
   *  findings name) */
  readonly configs?: readonly string[];
}

/** Is one of fns on p's kernel function stack? */
export function inFn(p: Place | null | undefined, ...fns: string[]): boolean {
  return !!p && p.fns.some((f) => fns.includes(f));
}

/** The step that broke the invariant ran in one of fns. */
export function firesIn(w: Witness, ...fns: string[]): boolean {
  return inFn(w.at, ...fns);
}

/** The step that broke it ran at this context level. */
export function firesAt(w: Witness, level: Level): boolean {
  return w.at?.level === level;
}

/** Judged with no step at fault: at a quiescent point, after a fair
 *  quiesce, or at teardown. */
export function atRest(w: Witness): boolean {
  return w.at === null;
}

/** A structure named `name` (a field: `reuse_lock`, `free_llist_extra`,
 *  `pcpu_mutex`; or a whole name) is what the breaking step touched or
 *  what the violation is about. */
export function touches(w: Witness, name: string): boolean {
  const is = (s: string): boolean => s === name || s.endsWith(`.${name}`) || s.endsWith(`->${name}`);
  return (w.at !== null && is(w.at.touched)) || w.subjects.some(is);
}

/** Another context the judge names (the lock's holder, the task that
 *  claimed the refill) is in one of fns. */
export function withIn(w: Witness, ...fns: string[]): boolean {
  return w.with.some((p) => inFn(p, ...fns));
}

/** Every object the violation is about was last touched in one of fns
 *  (the finding must set `last: true`). */
export function lastIn(w: Witness, ...fns: string[]): boolean {
  return w.last.length > 0 && w.last.every((p) => inFn(p, ...fns));
}

/** Every object the violation is about was last touched by fn's own code
 *  (fn innermost, not a function it calls; the finding must set `last`). */
export function lastAt(w: Witness, fn: string): boolean {
  return w.last.length > 0 && w.last.every((p) => p.fns.at(-1) === fn);
}

/** Every subject's name starts with prefix (the pages of one chunk). */
export function subjectsStartWith(w: Witness, prefix: string): boolean {
  return w.subjects.length > 0 && w.subjects.every((s) => s.startsWith(prefix));
}
