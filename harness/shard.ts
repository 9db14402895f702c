// The work of `allocspec check` as a list of jobs, one per (policy,
// configuration), numbered in the order the sequential check runs them.
// `--shard i/n` keeps the jobs whose number is i-1 modulo n, so a CI matrix
// splits a budget over machines; harness/merge.ts puts the shards back
// together into the report the unsharded run writes.
import type { FaultKind } from '../spec/kernel/slab.ts';
import type { Cmd } from './commands.ts';
import type { ExploreResult } from './explore.ts';
import { UsageError } from './errors.ts';
import type { InvariantName } from '../model/invariants.ts';

export interface Shard {
  /** 1-based */
  index: number;
  count: number;
}

export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--shard: expected i/n (e.g. 1/2), got '${s}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard: need 1 <= i <= n, got '${s}'`);
  return { index, count };
}

export interface Job {
  /** position in the sequential order: policy-major, then configuration */
  n: number;
  policy: number;
  config: number;
  /** fast-check seed: the check's seed plus the configuration's index */
  seed: number;
}

export function jobsOf(policies: number, configs: number, seed: number): Job[] {
  const jobs: Job[] = [];
  for (let p = 0; p < policies; p++) for (let c = 0; c < configs; c++) jobs.push({ n: jobs.length, policy: p, config: c, seed: seed + c });
  return jobs;
}

export function inShard(job: Job, shard: Shard | null): boolean {
  return shard === null || job.n % shard.count === shard.index - 1;
}

/** One job's outcome as plain JSON (sets and maps as sorted arrays / entry
 *  lists), carried in sharded reports so that merge can rebuild the rest. */
export interface JobRecord {
  n: number;
  policy: string;
  /** the policy's file when it is not a built-in */
  policyFile?: string;
  config: string;
  faults: FaultKind[];
  runs: number;
  steps: number;
  commands: number;
  effective: number;
  states: number[];
  situations: [string, number][];
  /** runs asked for, runs that ended with no violation, shrink runs */
  budget: number;
  runsToEnd: number;
  shrinkRuns: number;
  /** known findings hit (the first of each, shrunk) and runs per finding */
  known: { invariant: InvariantName; message: string; seed: number; path: string; commands: Cmd[]; fixture?: string }[];
  knownHits: Record<string, number>;
  counterexample: null | {
    invariant: InvariantName;
    message: string;
    seed: number;
    path: string;
    commands: Cmd[];
    fixture?: string;
  };
}

export function toRecord(n: number, r: ExploreResult, faults: readonly FaultKind[], policyFile?: string): JobRecord {
  return {
    n,
    policy: r.policy,
    ...(policyFile ? { policyFile } : {}),
    config: r.config,
    faults: [...faults],
    runs: r.runs,
    steps: r.steps,
    commands: r.commands,
    effective: r.effective,
    states: [...r.states].sort((a, b) => a - b),
    situations: [...r.situations],
    budget: r.budget,
    runsToEnd: r.runsToEnd,
    shrinkRuns: r.shrinkRuns,
    known: r.known.map((c) => ({ ...c })),
    knownHits: { ...r.knownHits },
    counterexample: r.counterexample && { ...r.counterexample },
  };
}

export function fromRecord(j: JobRecord): ExploreResult {
  const cx = j.counterexample;
  return {
    policy: j.policy,
    config: j.config,
    runs: j.runs,
    steps: j.steps,
    commands: j.commands,
    effective: j.effective,
    states: new Set(j.states),
    situations: new Map(j.situations),
    budget: j.budget,
    runsToEnd: j.runsToEnd,
    shrinkRuns: j.shrinkRuns,
    known: j.known.map((c) => ({ invariant: c.invariant, message: c.message, seed: c.seed, path: c.path, commands: c.commands })),
    knownHits: { ...j.knownHits },
    counterexample: cx && { invariant: cx.invariant, message: cx.message, seed: cx.seed, path: cx.path, commands: cx.commands },
  };
}
