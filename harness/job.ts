// The jobs of a check: each (policy, configuration) job cut into chunks of
// runs (harness/shard.ts: chunksOf, CHUNK_RUNS), run in this thread or on
// the worker pool (harness/workers.ts). The cut depends on the budget alone
// and a job's record is its chunks' records merged in chunk order, up to
// the first chunk that found a counterexample or failed, so the report is
// the same for any number of workers. Chunks are handed out one at a time
// to whichever worker is free, job by job, the costliest job first
// (jobCost), its chunks in order; a chunk past a job's first
// counterexample is not started, and one already running is not waited
// for. Replay's watchdog and check's regression first run here too.
import { availableParallelism } from 'node:os';
import type { Policy } from '../spec/policies/policy.ts';
import { findPolicy } from '../spec/policies/index.ts';
import { PolicyError, UsageError } from './errors.ts';
import type { Io } from './io.ts';
import { STRATEGIES } from './strategies/index.ts';
import { resolvePolicy } from './policies.ts';
import { savedFixtures, type Regression } from './regress.ts';
import { CHUNK_RUNS, chunksOf, mergeChunks, toRecord, type Chunk, type JobRecord } from './shard.ts';
import { faultKinds } from './sim.ts';
import { asPolicyError, watchedPolicy } from './watch.ts';
import { raised, timing, WorkerPool, type FromWorker, type JobSpec, type Regressed, type Task, type Work } from './workers.ts';

export type { JobSpec } from './workers.ts';

export function defaultWorkers(): number {
  return availableParallelism();
}

/** Run one job (or chunk) in this thread; with a beacon, the policy's
 *  hooks publish their steps to it (harness/watch.ts). */
export function runJob(spec: JobSpec, policy: Policy<unknown>, file?: string, b?: Int32Array): JobRecord {
  const opts = { seed: spec.seed, runs: spec.runs, promise: spec.promise, ...(spec.noShrink?.length ? { noShrink: spec.noShrink } : {}) };
  const p = b ? watchedPolicy(policy, b) : policy;
  try {
    const r = STRATEGIES[spec.strategy].explore(p, spec.config, { ...opts, ...(spec.pct ? { pct: spec.pct } : {}) });
    return toRecord(spec.n, r, faultKinds(policy, spec.config), file);
  } catch (e) {
    // an error thrown in an irq_work, kworker or RCU callback is the
    // policy's: one line and exit 2, not a crash
    throw asPolicyError(policy, e);
  }
}

/** The spec of a job's chunk. */
function chunkSpec(spec: JobSpec, c: Chunk, noShrink: Iterable<string>): JobSpec {
  const ns = [...noShrink];
  return { ...spec, seed: c.seed, runs: c.runs, ...(ns.length ? { noShrink: ns } : {}) };
}

/** A job in this thread: its chunks in order, up to the first that found
 *  a counterexample; the record is theirs merged. */
export function runJobChunked(spec: JobSpec, policy: Policy<unknown>, file?: string): JobRecord {
  const recs: JobRecord[] = [];
  const hit = new Set<string>();
  for (const c of chunksOf(spec.seed, spec.runs, spec.chunk ?? CHUNK_RUNS)) {
    const r = runJob(chunkSpec(spec, c, hit), policy, file);
    recs.push(r);
    if (r.counterexample) break;
    for (const f of Object.keys(r.findingHits ?? {})) hit.add(f);
  }
  return mergeChunks(spec.n, spec.runs, recs);
}

const cache = new Map<string, Promise<{ policy: Policy<unknown>; file?: string }>>();
export function policyOf(ref: string): Promise<{ policy: Policy<unknown>; file?: string }> {
  let p = cache.get(ref);
  if (!p) cache.set(ref, (p = resolvePolicy(ref)));
  return p;
}

/** A static estimate of a job's relative cost. Size buckets
 *  (bpf_mem_alloc, size 0) explore about three times longer than one
 *  cache; more CPUs and longer programs cost more steps. */
export function jobCost(spec: JobSpec): number {
  const c = spec.config;
  return spec.runs * (c.size === 0 ? 3 : 1) * c.cpus * c.maxCommands;
}

/** The order jobs are handed to workers: costliest first, ties in job
 *  order (a stable sort, no clock or randomness). */
export function dispatchOrder(specs: readonly JobSpec[]): number[] {
  return specs.map((_, i) => i).sort((a, b) => jobCost(specs[b]!) - jobCost(specs[a]!) || a - b);
}

export interface RunJobsOptions {
  /** milliseconds a job may go without a step of a hook before its worker
   *  is terminated and the hook named (0: no watchdog) */
  hookTimeout?: number;
  /** runs started so far (capped by each chunk's budget) and the total
   *  budget, about every quarter second while workers run */
  onTick?: (runs: number, budget: number, perJob?: number[]) => void;
  /** policies at hand in this thread, by policyRef (objects given to the
   *  API need not be built-in or in a file); others are resolved by name
   *  or file */
  local?: ReadonlyMap<string, { policy: Policy<unknown>; file?: string }>;
  /** threads already started (WorkerPool.start); runJobs then leaves them
   *  running for the caller to close */
  pool?: WorkerPool;
}

/** Do these jobs run in worker threads? With a hook timeout every job
 *  does, so that a hook that never yields can be stopped; without, they
 *  run in this thread unless there are workers and chunks to share. */
export function usesWorkers(specs: readonly JobSpec[], workers: number, hookTimeout: number): boolean {
  if (!specs.length) return false;
  return hookTimeout > 0 || (workers > 1 && specs.reduce((a, s) => a + chunksOf(s.seed, s.runs, s.chunk ?? CHUNK_RUNS).length, 0) > 1);
}

/** Threads worth starting for these jobs: no more than their chunks. */
export function poolSize(specs: readonly JobSpec[], workers: number): number {
  return Math.max(1, Math.min(workers, specs.reduce((a, s) => a + chunksOf(s.seed, s.runs, s.chunk ?? CHUNK_RUNS).length, 0)));
}

/** Can a worker thread load every job's policy? */
export function loadable(specs: readonly JobSpec[], local?: ReadonlyMap<string, { policy: Policy<unknown>; file?: string }>): void {
  for (const s of specs) {
    const l = local?.get(s.policyRef);
    if (l && !l.file && findPolicy(s.policyRef) !== l.policy) {
      throw new UsageError(`policy ${l.policy.name} is an object of this process, not a built-in or a file: a worker thread cannot load it (run it in this thread: workers 1, no hook timeout)`);
    }
  }
}

/** Run jobs, chunk by chunk, on `workers` threads (or in this thread:
 *  usesWorkers); records in job order. onRecord sees each job's record as
 *  soon as the job's outcome is known. */
export async function runJobs(specs: JobSpec[], workers: number, onRecord?: (spec: JobSpec, r: JobRecord) => void, ro: RunJobsOptions = {}): Promise<JobRecord[]> {
  const out: JobRecord[] = new Array(specs.length);
  const timeout = ro.hookTimeout ?? 0;
  if (!ro.pool && !usesWorkers(specs, workers, timeout)) {
    for (let i = 0; i < specs.length; i++) {
      const { policy, file } = ro.local?.get(specs[i]!.policyRef) ?? (await policyOf(specs[i]!.policyRef));
      out[i] = runJobChunked(specs[i]!, policy, file);
      onRecord?.(specs[i]!, out[i]!);
    }
    return out;
  }
  if (!specs.length) return out;
  loadable(specs, ro.local);
  const pool = ro.pool ?? (await WorkerPool.start(poolSize(specs, workers), specs.some((s) => !findPolicy(s.policyRef))));
  try {
    await pool.run(new ChunkWork(specs, out, onRecord), timeout, ro.onTick);
  } finally {
    if (!ro.pool) await pool.close();
  }
  return out;
}

/** The chunks of a check's jobs as a pool's work (see the top of this file). */
class ChunkWork implements Work {
  private readonly tasks: { job: number; chunk: Chunk }[] = [];
  private readonly pending: number[] = [];
  private readonly jobs: { chunks: Chunk[]; recs: (JobRecord | undefined)[]; errs: (Error | undefined)[]; cut: number; done: boolean; counted: boolean[] }[];
  private left: number;
  private finished = 0;
  private readonly budget: number;

  constructor(
    private readonly specs: readonly JobSpec[],
    private readonly out: JobRecord[],
    private readonly onRecord?: (spec: JobSpec, r: JobRecord) => void,
  ) {
    this.jobs = specs.map((s) => {
      const chunks = chunksOf(s.seed, s.runs, s.chunk ?? CHUNK_RUNS);
      return { chunks, recs: [], errs: [], cut: Infinity, done: false, counted: chunks.map(() => false) };
    });
    for (const j of dispatchOrder(specs)) {
      for (const chunk of this.jobs[j]!.chunks) {
        this.pending.push(this.tasks.length);
        this.tasks.push({ job: j, chunk });
      }
    }
    this.left = specs.length;
    this.budget = specs.reduce((a, s) => a + s.runs, 0);
  }

  done(): boolean {
    return this.left === 0;
  }

  take(): number {
    while (this.pending.length) {
      const id = this.pending.shift()!;
      const { job, chunk } = this.tasks[id]!;
      const j = this.jobs[job]!;
      if (!j.done && chunk.i <= j.cut) return id;
    }
    return -1;
  }

  task(id: number): Task {
    const { job, chunk } = this.tasks[id]!;
    const j = this.jobs[job]!;
    // known findings an earlier chunk of the job already shrank
    const hit = new Set<string>();
    for (let i = 0; i < chunk.i; i++) for (const f of Object.keys(j.recs[i]?.findingHits ?? {})) hit.add(f);
    return { spec: chunkSpec(this.specs[job]!, chunk, hit) };
  }

  private count(job: number, i: number): void {
    const j = this.jobs[job]!;
    if (j.counted[i]) return;
    j.counted[i] = true;
    this.finished += j.chunks[i]!.runs;
  }

  answer(id: number, m: FromWorker): void {
    const { job } = this.tasks[id]!;
    const spec = this.specs[job]!;
    this.outcome(id, m.ok ? m.record! : raised(m, `job ${spec.n} (${spec.policyRef})`));
  }

  stalled(id: number, hook: string, where: string, secs: number): void {
    const spec = this.specs[this.tasks[id]!.job]!;
    this.outcome(id, new PolicyError(spec.policyName ?? spec.policyRef, hook, where, `no step for ${secs} s in config ${spec.config.name} (--hook-timeout ${secs}: a loop without a yield?)`));
  }

  private outcome(id: number, r: JobRecord | Error): void {
    const { job, chunk } = this.tasks[id]!;
    const j = this.jobs[job]!;
    if (r instanceof Error) j.errs[chunk.i] = r;
    else j.recs[chunk.i] = r;
    if (r instanceof Error || r.counterexample) j.cut = Math.min(j.cut, chunk.i);
    this.count(job, chunk.i);
    this.settle(job);
  }

  /** A job whose chunks up to its first counterexample or error have all
   *  answered is over: its record (or its error) is final. */
  private settle(job: number): void {
    const j = this.jobs[job]!;
    if (j.done) return;
    const last = Math.min(j.cut, j.chunks.length - 1);
    for (let i = 0; i <= last; i++) if (!j.recs[i] && !j.errs[i]) return;
    j.done = true;
    this.left--;
    for (let i = 0; i < j.chunks.length; i++) this.count(job, i); // the rest of the budget: not run
    const e = j.errs[last];
    if (e) throw e;
    const spec = this.specs[job]!;
    this.out[job] = mergeChunks(spec.n, spec.runs, j.recs.slice(0, last + 1) as JobRecord[]);
    timing(`job ${spec.n} over`);
    this.onRecord?.(spec, this.out[job]!);
  }

  progress(started: (id: number) => number): [number, number, number[]] {
    let runs = this.finished;
    const perJob = this.jobs.map(() => 0);
    for (let id = 0; id < this.tasks.length; id++) {
      const { job, chunk } = this.tasks[id]!;
      const j = this.jobs[job]!;
      // a job's runs: its chunks answered up to its first counterexample, and those running
      const ran = j.recs[chunk.i]?.runs ?? (j.counted[chunk.i] ? 0 : Math.min(started(id), chunk.runs));
      if (chunk.i <= j.cut) perJob[job]! += ran;
      if (!j.counted[chunk.i]) runs += Math.min(started(id), chunk.runs);
    }
    return [runs, this.budget, perJob];
  }
}

/** Replay's watchdog: run each fixture once in a worker first, so that a
 *  hook that never yields is stopped after timeoutMs and named (replay
 *  itself then runs in this thread, where it cannot be interrupted). */
export async function probeFixtures(files: readonly { file: string; policy: string }[], timeoutMs: number, skipBadInput = false): Promise<void> {
  if (!files.length || !timeoutMs) return;
  const pool = await WorkerPool.start(1, files.some((f) => !findPolicy(f.policy)));
  let next = 0;
  let answered = 0;
  try {
    await pool.run(
      {
        take: () => (next < files.length ? next++ : -1),
        task: (id) => ({ probe: files[id]!.file }),
        answer: (id, m) => {
          answered++;
          if (!m.ok && !(skipBadInput && m.usage)) throw raised(m, files[id]!.file);
        },
        stalled: (id, hook, where, secs) => {
          throw new PolicyError(files[id]!.policy, hook, where, `no step for ${secs} s (--hook-timeout ${secs}: a loop without a yield?)`);
        },
        done: () => answered === files.length,
      },
      timeoutMs,
    );
  } finally {
    await pool.close();
  }
}

/** Check's regression first, in the pool under the watchdog: each policy's
 *  saved counterexamples replayed (harness/regress.ts) in a worker, what
 *  that prints passed on in policy order, the first error in policy order
 *  raised (a hook that never yields is named before any exploration). */
export async function regressInPool(pool: WorkerPool, policies: readonly { policy: Policy<unknown>; file?: string }[], fixturesDir: string, timeoutMs: number, io: Io): Promise<Regression[]> {
  const todo = policies.filter((p) => savedFixtures([p], fixturesDir).length);
  const results: (Regressed | Error)[] = [];
  let next = 0;
  let answered = 0;
  await pool.run(
    {
      take: () => (next < todo.length ? next++ : -1),
      task: (id) => ({ regress: { policyRef: todo[id]!.file ?? todo[id]!.policy.name, fixturesDir } }),
      answer: (id, m) => {
        answered++;
        results[id] = m.ok ? m.regressed! : raised(m, `replay of ${todo[id]!.policy.name}'s saved counterexamples`);
      },
      stalled: (id, hook, where, secs) => {
        answered++;
        results[id] = new PolicyError(todo[id]!.policy.name, hook, where, `no step for ${secs} s (--hook-timeout ${secs}: a loop without a yield?)`);
      },
      done: () => answered === todo.length,
    },
    timeoutMs,
  );
  const out: Regression[] = [];
  for (const r of results) {
    if (r instanceof Error) throw r;
    for (const [fd, text] of r.lines) (fd ? io.err : io.out)(text);
    out.push(...r.regressions);
  }
  return out;
}
