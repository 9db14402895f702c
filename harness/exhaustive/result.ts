// The exhaustive mode's options and result, shared by the search in one
// thread (harness/exhaustive.ts) and on worker threads (harness/exhaustive/
// parallel.ts).
import type { InvariantName } from '../../model/invariants.ts';
import type { Violation } from '../../spec/kernel/types.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Cmd } from '../commands.ts';
import type { CheckConfig } from '../config.ts';
import type { Counterexample } from '../strategies/strategy.ts';
import type { SleepSets } from './sleep.ts';

export interface ExhaustiveOptions {
  depth: number;
  promise?: readonly InvariantName[];
  /** stop after this many distinct states (the result says so) */
  maxStates?: number;
  /** stop after this many seconds of search (the result says so; the
   *  depth proved is the last one completed). Wall-clock: the only place
   *  time decides anything, and it decides where to stop, never what is
   *  found up to there. */
  maxSeconds?: number;
  /** also run the letters the search skips and check that each one's
   *  successor (or violation) is one the run letters produced (tests) */
  verify?: boolean;
  /** add programs of four operations to the alphabet (exhaustive/letters.ts) */
  batch?: boolean;
  /** tests: the set the states' keys are kept in (read it afterwards) */
  keys?: Set<string>;
  /** key states by their canonical encoding instead of its 128-bit hash
   *  (tests: no collision is possible, at many times the memory) */
  exactKeys?: boolean;
  /** sleep sets (harness/exhaustive/sleep.ts; default on): off, every
   *  letter that runs as itself is run from every new state */
  sleepSets?: boolean;
}

/** Cumulative figures at the end of one depth (what `--depth d` reports). */
export interface ExhaustiveLevel {
  depth: number;
  states: number;
  transitions: number;
  seconds: number;
}

export interface ExhaustiveResult {
  policy: string;
  config: string;
  /** commands of the alphabet */
  alphabet: number;
  /** distinct states reached (after boot, and after each command list,
   *  including states where teardown ended) */
  states: number;
  /** commands executed from an expanded state (each a replay from boot) */
  transitions: number;
  /** letters not run because they do not run as themselves in that state:
   *  each one's successor is another letter's (harness/exhaustive/letters.ts) */
  skipped: number;
  /** letters not run from a new state because they were in its sleep set
   *  (harness/exhaustive/sleep.ts); `revisits`: states reached again with
   *  a smaller sleep set, from which what fell out was run */
  slept: number;
  revisits: number;
  /** every command list of up to this many commands is violation-free
   *  (including running each to quiescence and tearing down), known
   *  findings aside */
  provedDepth: number;
  /** the state cap or the time limit stopped the search before `depth` */
  truncated: boolean;
  /** nothing is pruned on a guess: fallbacks, the finish memo and sleep
   *  sets are exact (README, "Exhaustive mode"); with hashed keys two
   *  states could still share a hash, `collisionBound` says how likely */
  sound: boolean;
  /** how states are keyed: a 128-bit hash of the canonical encoding, or
   *  the encoding itself */
  keys: 'md5-128' | 'exact';
  /** with hashed keys, the probability that two distinct states shared a
   *  hash, bounded as TLC reports it: n(m - n) / 2^128 for n distinct
   *  states among m generated (TLC's "optimistic" estimate, for 64-bit
   *  fingerprints), and n^2 / 2^129 (any two of the n states: the
   *  birthday bound, an upper bound for any order of the search) */
  collisionBound?: number;
  collisionBirthday?: number;
  /** wall-clock seconds, states and transitions per second (display only) */
  seconds?: number;
  statesPerSecond?: number;
  transitionsPerSecond?: number;
  /** cumulative figures at the end of each completed depth */
  levels: ExhaustiveLevel[];
  counterexample: Counterexample | null;
  /** known findings hit (the policy's documented ones): the shortest list
   *  to each; such a list goes no further, the search goes on */
  known: Counterexample[];
}

export function emptyResult(policy: Policy<unknown>, cfg: CheckConfig, alphabet: number, hashed = true): ExhaustiveResult {
  return {
    policy: policy.name,
    config: cfg.name,
    alphabet,
    states: 0,
    transitions: 0,
    skipped: 0,
    slept: 0,
    revisits: 0,
    provedDepth: 0,
    truncated: false,
    sound: true,
    keys: hashed ? 'md5-128' : 'exact',
    ...(hashed ? { collisionBound: 0, collisionBirthday: 0 } : {}),
    levels: [],
    counterexample: null,
    known: [],
  };
}

export function finalize(res: ExhaustiveResult, t0: number, book?: SleepSets): ExhaustiveResult {
  const s = (performance.now() - t0) / 1000;
  res.seconds = Number(s.toFixed(3));
  res.statesPerSecond = s > 0 ? Math.round(res.states / s) : 0;
  res.transitionsPerSecond = s > 0 ? Math.round(res.transitions / s) : 0;
  if (book) {
    res.slept = book.slept;
    res.revisits = book.revisits;
  }
  if (res.collisionBound !== undefined) {
    // generated: boot and every transition that reached a state
    const n = res.states;
    const m = res.transitions + 1;
    res.collisionBound = (n * Math.max(0, m - n)) / 2 ** 128;
    res.collisionBirthday = (n * n) / 2 ** 129;
  }
  return res;
}

export function counterexample(cmds: readonly Cmd[], path: Uint8Array, v: Violation): Counterexample {
  const commands = [...path].map((i) => cmds[i]!);
  return { invariant: v.invariant, message: v.detail, seed: 0, path: `exhaustive:depth=${commands.length}`, commands };
}
