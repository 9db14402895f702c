// The search strategies' common shape: a strategy explores one policy under
// one configuration with a budget and returns what it found, in the same
// result whatever it is (fast-check generation, PCT schedules); the
// exhaustive mode, which proves a depth instead of spending a budget, is
// registered beside them (harness/strategies/index.ts). A counterexample
// is a list of commands (harness/commands.ts) whatever found it, so
// shrinking, fixtures and replay are the same for all.
import type { InvariantName } from '../../model/invariants.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Cmd } from '../commands.ts';
import type { CheckConfig } from '../config.ts';

/** A budgeted search: the options every random strategy takes. */
export interface StrategyOptions {
  seed: number;
  runs: number;
  promise?: readonly InvariantName[];
  /** violations of these invariants are known findings (default: the
   *  policy's declared findings) */
  known?: readonly string[];
  /** known findings an earlier chunk of the same job already shrank */
  noShrink?: readonly string[];
}

/** One search strategy, as the registry lists it. */
export interface Strategy {
  readonly name: string;
  /** one line for --help */
  readonly text: string;
  /** random strategies: explore with a budget; the exhaustive mode has
   *  none (it runs through checkExhaustive with a depth) */
  explore?(policy: Policy<unknown>, cfg: CheckConfig, opts: StrategyOptions): ExploreResult;
}

export interface Counterexample {
  invariant: InvariantName;
  message: string;
  seed: number;
  path: string;
  /** the shrunk commands, up to and including the one that broke */
  commands: Cmd[];
  /** a known finding: its name (spec/policies/finding.ts) */
  finding?: string;
}

export interface ExploreResult {
  policy: string;
  config: string;
  /** runs asked for */
  budget: number;
  /** runs explored (shrinking not counted) */
  runs: number;
  /** of those, runs that reached their end with no violation: every
   *  invariant was checked through them */
  runsToEnd: number;
  /** runs fast-check spent shrinking (not counted in runs) */
  shrinkRuns: number;
  steps: number;
  commands: number;
  effective: number;
  states: Set<number>;
  situations: Map<string, number>;
  /** a violation that is not a known finding: it stopped the job */
  counterexample: Counterexample | null;
  /** known findings hit, the first run of each shrunk */
  known: Counterexample[];
  /** runs that ended at a known finding, per invariant */
  knownHits: Record<string, number>;
  /** the same per known finding, by name (the hit-rate drift reads it) */
  findingHits: Record<string, number>;
}

export function emptyResult(policy: string, config: string, budget: number): ExploreResult {
  return {
    policy,
    config,
    budget,
    runs: 0,
    runsToEnd: 0,
    shrinkRuns: 0,
    steps: 0,
    commands: 0,
    effective: 0,
    states: new Set(),
    situations: new Map(),
    counterexample: null,
    known: [],
    knownHits: {},
    findingHits: {},
  };
}

