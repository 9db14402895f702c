// The registry of search strategies the command line reads (`check
// --strategy NAME`, and `--exhaustive` for the last): each explores a
// policy under a configuration with a budget and returns the same result
// (harness/strategies/strategy.ts), so jobs, shards, shrinking and
// fixtures are one path for all.
import { explore } from '../explore.ts';
import { explorePct, type PctOptions } from '../pct.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { CheckConfig } from '../config.ts';
import type { ExploreResult, Strategy, StrategyOptions } from './strategy.ts';

export type { Strategy, StrategyOptions } from './strategy.ts';

export const STRATEGIES = {
  uniform: {
    name: 'uniform',
    text: 'fast-check command lists (each run first draws the kinds it uses: swarm), then PCT schedules for a fifth of the budget (the default)',
    explore: (p: Policy<unknown>, c: CheckConfig, o: StrategyOptions): ExploreResult => explore(p, c, o),
  },
  swarm: {
    name: 'swarm',
    text: 'fast-check swarm command lists for the whole budget',
    explore: (p: Policy<unknown>, c: CheckConfig, o: StrategyOptions): ExploreResult => explore(p, c, { ...o, pctShare: 0 }),
  },
  pct: {
    name: 'pct',
    text: 'PCT priority schedules (Burckhardt et al.) for the whole budget; --pct-depth D',
    explore: (p: Policy<unknown>, c: CheckConfig, o: StrategyOptions & { pct?: Partial<PctOptions> }): ExploreResult => explorePct(p, c, { ...o, ...o.pct }),
  },
  exhaustive: {
    name: 'exhaustive',
    text: 'every command list up to --depth N (BFS over what the engine allows, exact state keys; --exhaustive)',
  },
} as const satisfies Record<string, Strategy>;

export type StrategyName = keyof typeof STRATEGIES;
/** The strategies that spend a budget (jobs, shards, workers). */
export type RandomStrategy = Exclude<StrategyName, 'exhaustive'>;

export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[];

export function isStrategy(s: string): s is StrategyName {
  return Object.prototype.hasOwnProperty.call(STRATEGIES, s);
}
