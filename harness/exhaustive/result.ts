// The exhaustive mode's options and result, shared by the search in one
// thread (harness/exhaustive.ts) and on worker threads (harness/exhaustive/
// parallel.ts).
import type { InvariantName } from '../../model/invariants.ts';
import type { Violation } from '../../spec/kernel/types.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Cmd } from '../commands.ts';
import type { CheckConfig } from '../config.ts';
import type { Counterexample } from '../strategies/strategy.ts';

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
  /** keep a 128-bit hash of each state's key instead of the key (a
   *  fraction of the memory, for depths whose keys do not fit): the result
   *  is then not sound, and says how likely a collision was */
  hashKeys?: boolean;
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
  /** every command list of up to this many commands is violation-free
   *  (including running each to quiescence and tearing down), known
   *  findings aside */
  provedDepth: number;
  /** the state cap or the time limit stopped the search before `depth` */
  truncated: boolean;
  /** states are keyed by their canonical encoding (no hash collisions) and
   *  nothing else is pruned; false when pruning could hide a state (keys
   *  hashed: `collisionBound` says how likely) */
  sound: boolean;
  /** with hashed keys: an upper bound on the probability that two of the
   *  states seen share a hash (n^2 / 2^129) */
  collisionBound?: number;
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


export function emptyResult(policy: Policy<unknown>, cfg: CheckConfig, alphabet: number, hashed = false): ExhaustiveResult {
  return {
    policy: policy.name,
    config: cfg.name,
    alphabet,
    states: 0,
    transitions: 0,
    skipped: 0,
    provedDepth: 0,
    truncated: false,
    sound: !hashed,
    ...(hashed ? { collisionBound: 0 } : {}),
    levels: [],
    counterexample: null,
    known: [],
  };
}

export function finalize(res: ExhaustiveResult, t0: number): ExhaustiveResult {
  const s = (performance.now() - t0) / 1000;
  res.seconds = Number(s.toFixed(3));
  res.statesPerSecond = s > 0 ? Math.round(res.states / s) : 0;
  res.transitionsPerSecond = s > 0 ? Math.round(res.transitions / s) : 0;
  if (res.collisionBound !== undefined) res.collisionBound = (res.states * res.states) / 2 ** 129;
  return res;
}

export function counterexample(cmds: readonly Cmd[], path: Uint8Array, v: Violation): Counterexample {
  const commands = [...path].map((i) => cmds[i]!);
  return { invariant: v.invariant, message: v.detail, seed: 0, path: `exhaustive:depth=${commands.length}`, commands };
}

