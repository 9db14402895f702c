// The work of `allocspec check` as a list of jobs, one per (policy,
// configuration), numbered in the order the sequential check runs them.
// `--shard i/n` keeps the jobs whose number is i-1 modulo n, so a CI matrix
// splits a budget over machines; harness/merge.ts puts the shards back
// together into the report the unsharded run writes.
//
// A job's budget is cut into chunks of CHUNK_RUNS runs, the unit a worker
// thread runs (harness/job.ts), so that one job's runs spread over
// every worker. The cut depends on the budget alone, never on the number
// of workers: chunk i explores with chunkSeed(seed, i) (chunk 0 with the
// job's own seed, so a budget of one chunk runs as an uncut job), and the
// job's record is its chunks' records merged in chunk order, up to and
// including the first chunk that found a counterexample (mergeChunks).
import type { FaultKind } from '../spec/kernel/slab.ts';
import type { Cmd } from './commands.ts';
import type { ExploreResult } from './explore.ts';
import { knownKey } from './findings.ts';
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

/** Runs per chunk: 250, so that a default job (5000 runs) is 20 chunks
 *  and two workers sharing it end within one chunk (0.1-0.2 s) of each
 *  other. A chunk costs little beyond its runs: a fast-check setup, and
 *  the shrinking of the first hit of a known finding that no finished
 *  earlier chunk of its job hit (ExploreOptions.noShrink; 10-25 ms each).
 *  Measured in one thread, bpf-ma and reuse-after-rcu-gp [fixed], 5000
 *  runs cut into chunks of 5000, 500, 250 and 100: the same CPU time
 *  within the noise and the same steps (2.62-2.68 M). Counterexamples are
 *  as good: a violation stops its chunk at once and is shrunk as before;
 *  each chunk starts fast-check's generation afresh (its first runs lean
 *  to small values) and spends its last fifth on PCT schedules, so PCT
 *  runs early in a job, not only after 4000 runs. */
export const CHUNK_RUNS = 250;

/** The fast-check (and PCT) seed of a job's chunk i: the job's seed for
 *  chunk 0, a 31-bit mix of (seed, i) after it. A saved counterexample
 *  holds its chunk's seed and path, and replays from them as before. */
export function chunkSeed(seed: number, i: number): number {
  if (i === 0) return seed;
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 1;
}

export interface Chunk {
  /** 0-based, in the order the sequential check runs them */
  i: number;
  seed: number;
  runs: number;
}

/** A budget of `runs` cut into chunks (the last one holds the rest). */
export function chunksOf(seed: number, runs: number, size: number = CHUNK_RUNS): Chunk[] {
  const out: Chunk[] = [];
  for (let i = 0; i * size < runs; i++) out.push({ i, seed: chunkSeed(seed, i), runs: Math.min(size, runs - i * size) });
  return out;
}

/** One job's record from its chunks' records, given in chunk order, the
 *  last being the first that found a counterexample or the job's last
 *  chunk: counts and coverage summed, states united, each known finding's
 *  example from the first chunk that hit it, the counterexample of the
 *  last. `budget` is the job's budget (runs asked for), so that a job cut
 *  short by a counterexample reports the runs it did not run. */
export function mergeChunks(n: number, budget: number, chunks: readonly JobRecord[]): JobRecord {
  const [first] = chunks;
  if (!first) throw new Error('mergeChunks: no chunks');
  if (chunks.length === 1) return { ...first, n, budget };
  const sum = (f: (r: JobRecord) => number): number => chunks.reduce((a, r) => a + f(r), 0);
  const states = new Set<number>();
  const situations = new Map<string, number>();
  const knownHits: Record<string, number> = {};
  const findingHits: Record<string, number> = {};
  const known: JobRecord['known'] = [];
  for (const r of chunks) {
    for (const s of r.states) states.add(s);
    for (const [k, c] of r.situations) situations.set(k, (situations.get(k) ?? 0) + c);
    for (const [inv, c] of Object.entries(r.knownHits)) knownHits[inv] = (knownHits[inv] ?? 0) + c;
    for (const [f, c] of Object.entries(r.findingHits ?? {})) findingHits[f] = (findingHits[f] ?? 0) + c;
    for (const k of r.known) if (!known.some((x) => knownKey(x) === knownKey(k))) known.push(k);
  }
  return {
    n,
    policy: first.policy,
    ...(first.policyFile ? { policyFile: first.policyFile } : {}),
    config: first.config,
    faults: first.faults,
    runs: sum((r) => r.runs),
    steps: sum((r) => r.steps),
    commands: sum((r) => r.commands),
    effective: sum((r) => r.effective),
    states: [...states].sort((a, b) => a - b),
    situations: [...situations],
    budget,
    runsToEnd: sum((r) => r.runsToEnd),
    shrinkRuns: sum((r) => r.shrinkRuns),
    known,
    knownHits,
    findingHits,
    counterexample: chunks[chunks.length - 1]!.counterexample,
  };
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
  known: { invariant: InvariantName; message: string; seed: number; path: string; commands: Cmd[]; finding?: string; fixture?: string }[];
  knownHits: Record<string, number>;
  /** runs per known finding, by name */
  findingHits?: Record<string, number>;
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
    findingHits: { ...r.findingHits },
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
    known: j.known.map((c) => ({ invariant: c.invariant, message: c.message, seed: c.seed, path: c.path, commands: c.commands, ...(c.finding ? { finding: c.finding } : {}) })),
    knownHits: { ...j.knownHits },
    findingHits: { ...j.findingHits },
    counterexample: cx && { invariant: cx.invariant, message: cx.message, seed: cx.seed, path: cx.path, commands: cx.commands },
  };
}
