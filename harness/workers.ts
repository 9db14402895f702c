// `allocspec check --workers N --shard i/n`: the (policy, configuration)
// jobs of a check, each cut into chunks of runs (harness/shard.ts:
// chunksOf, CHUNK_RUNS), run in N worker threads. The cut depends on the
// budget alone and a job's record is its chunks' records merged in chunk
// order, up to the first chunk that found a counterexample or failed, so
// the report is the same for any N (and in this thread). Chunks are handed
// out one at a time to whichever worker is free, job by job, the costliest
// job first (jobCost), its chunks in order; a chunk past a job's first
// counterexample is not started, and one already running is not waited
// for. Workers start on the bundle of the sources (harness/bundle.ts), so
// no thread compiles TypeScript again, and they start before the saved
// counterexamples are replayed (in them, under the watchdog).
import { availableParallelism } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { fixtureOf } from './check.ts';
import { githubAnnotations, renderJunit, type SuiteResult } from './junit.ts';
import { replayCommand as replayCommandOf, shownPath, userPath } from './paths.ts';
import { replaySaved, savedFixtures, type Regression } from './regress.ts';
import type { InvariantName } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { progressLine, reportCheck, saveFixture, type CheckOptions, type Io, type PolicyRun, type SavedFixture } from './check.ts';
import { checkedInvariants, type CheckReport } from './report.ts';
import type { CheckConfig } from './config.ts';
import { explore, type Counterexample } from './explore.ts';
import { resolvePolicy } from './policies.ts';
import { faultKinds } from './sim.ts';
import { PolicyError, UsageError } from './errors.ts';
import { CHUNK_RUNS, chunksOf, fromRecord, inShard, jobsOf, mergeChunks, toRecord, type Chunk, type JobRecord, type Shard } from './shard.ts';
import { situationTexts } from './coverage.ts';
import { explorePct, type PctOptions } from './pct.ts';
import { sourceBundleOnce } from './bundle.ts';
import { Violation } from '../spec/kernel/types.ts';
import { findPolicy } from '../spec/policies/index.ts';
import { ACTIVE, asPolicyError, BEAT, HOOK, HOOKS, RUNS, SLOTS, watchedPolicy } from './watch.ts';

export type Strategy = 'uniform' | 'pct';

/** What a worker needs to run one job (or one chunk of it: its seed and
 *  runs then are the chunk's): plain data only. */
export interface JobSpec {
  n: number;
  /** a built-in policy name, or the policy's file */
  policyRef: string;
  /** the policy's name, for errors the main thread raises (watchdog) */
  policyName?: string;
  config: CheckConfig;
  seed: number;
  runs: number;
  promise: InvariantName[];
  strategy: Strategy;
  pct?: Partial<PctOptions>;
  /** runs per chunk (default CHUNK_RUNS; the tests cut finer) */
  chunk?: number;
  /** known findings an earlier chunk already shrank (ExploreOptions.noShrink) */
  noShrink?: string[];
}

export function defaultWorkers(): number {
  return availableParallelism();
}

/** Start-up phases for ALLOCSPEC_TIMING (bin/allocspec.mjs). */
function timing(what: string): void {
  (globalThis as Record<symbol, ((s: string) => void) | undefined>)[Symbol.for('allocspec.timing')]?.(what);
}

/** Run one job (or chunk) in this thread; with a beacon, the policy's
 *  hooks publish their steps to it (harness/watch.ts). */
export function runJob(spec: JobSpec, policy: Policy<unknown>, file?: string, b?: Int32Array): JobRecord {
  const opts = { seed: spec.seed, runs: spec.runs, promise: spec.promise, ...(spec.noShrink?.length ? { noShrink: spec.noShrink } : {}) };
  const p = b ? watchedPolicy(policy, b) : policy;
  try {
    const r = spec.strategy === 'pct' ? explorePct(p, spec.config, { ...opts, ...spec.pct }) : explore(p, spec.config, opts);
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
    for (const inv of Object.keys(r.knownHits)) hit.add(inv);
  }
  return mergeChunks(spec.n, spec.runs, recs);
}

const cache = new Map<string, Promise<{ policy: Policy<unknown>; file?: string }>>();
function policyOf(ref: string): Promise<{ policy: Policy<unknown>; file?: string }> {
  let p = cache.get(ref);
  if (!p) cache.set(ref, (p = resolvePolicy(ref)));
  return p;
}

/** A PolicyError's parts, to raise it again in the main thread. */
interface PolicyErrorParts {
  policy: string;
  hook: string;
  where: string;
  cause: string;
}
/** What regression replay of one policy printed and found (in a worker). */
interface Regressed {
  /** [0: stdout | 1: stderr, text], in order */
  lines: [0 | 1, string][];
  regressions: Regression[];
}
type Failed = { ok: false; error: string; usage?: true; policyError?: PolicyErrorParts };
type FromWorker = { ok: true; record?: JobRecord; regressed?: Regressed } | Failed;

/** What a failed task sends back: enough to throw, in the main thread, the
 *  error the task throws inline (the CLI turns UsageError and PolicyError
 *  into one line and exit 2). */
function failure(e: unknown): Failed {
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (e instanceof PolicyError) {
    return { ok: false, error, policyError: { policy: e.policy, hook: e.hook, where: e.where, cause: e.cause instanceof Error ? e.cause.message : String(e.cause) } };
  }
  if (e instanceof UsageError) return { ok: false, error: e.message, usage: true };
  return { ok: false, error };
}

function raised(m: Failed, what: string): Error {
  const p = m.policyError;
  if (p) return new PolicyError(p.policy, p.hook, p.where, p.cause);
  if (m.usage) return new UsageError(m.error);
  return new Error(`worker: ${what}: ${m.error}`);
}

/** What the main thread sends a worker: a job or chunk, a fixture to run
 *  once (replay's watchdog), or a policy's saved fixtures to replay
 *  (check's regression first); with the task's id and the worker's beacon. */
type Task = { spec: JobSpec } | { probe: string } | { regress: { policyRef: string; fixturesDir: string } };
type ToWorker = Task & { id: number; beacon: Int32Array };

/** Run a fixture's commands once with the hooks watched; a violation is no
 *  error here (replay reports it), anything else is. */
async function probe(file: string, b: Int32Array, id: number): Promise<void> {
  const { loadFixture } = await import('./replay.ts');
  const { isInvariant } = await import('../model/invariants.ts');
  const { runCommands } = await import('./explore.ts');
  const { fixture, policy } = await loadFixture(file);
  Atomics.add(b, BEAT, 1);
  Atomics.store(b, ACTIVE, id + 1);
  try {
    runCommands(watchedPolicy(policy, b), fixture.config, fixture.commands, { promise: fixture.promise.filter(isInvariant) });
  } catch (e) {
    const err = asPolicyError(policy, e);
    if (!(err instanceof Violation)) throw err;
  }
}

/** Replay a policy's saved counterexamples with its hooks watched, as
 *  check does in its own thread without a watchdog (harness/regress.ts). */
async function regress(policyRef: string, fixturesDir: string, b: Int32Array, id: number): Promise<Regressed> {
  const { policy, file } = await policyOf(policyRef);
  const lines: Regressed['lines'] = [];
  const io: Io = { out: (s) => void lines.push([0, s]), err: (s) => void lines.push([1, s]), tty: false };
  Atomics.add(b, BEAT, 1);
  Atomics.store(b, ACTIVE, id + 1);
  const regressions = replaySaved([{ policy: watchedPolicy(policy, b), ...(file ? { file } : {}) }], fixturesDir, io);
  return { lines, regressions };
}

/** The worker side: one task per message, one answer per task. */
export function serve(): void {
  parentPort!.on('message', async (m: ToWorker) => {
    let msg: FromWorker;
    const b = m.beacon;
    timing(`task ${m.id} received`);
    try {
      if ('probe' in m) {
        await probe(m.probe, b, m.id);
        msg = { ok: true };
      } else if ('regress' in m) {
        msg = { ok: true, regressed: await regress(m.regress.policyRef, m.regress.fixturesDir, b, m.id) };
      } else {
        const { policy, file } = await policyOf(m.spec.policyRef);
        Atomics.store(b, RUNS, 0);
        Atomics.add(b, BEAT, 1);
        Atomics.store(b, ACTIVE, m.id + 1);
        msg = { ok: true, record: runJob(m.spec, policy, file, b) };
      }
    } catch (e) {
      msg = failure(e);
    }
    Atomics.store(b, ACTIVE, 0);
    timing(`task ${m.id} answered`);
    parentPort!.postMessage({ ...msg, id: m.id });
  });
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

/** How often the main thread looks at the workers' beacons. */
const TICK_MS = 250;

/** One worker thread of a pool, and the task it runs (-1: none). */
interface Slot {
  w: Worker;
  b: Int32Array;
  beat: number;
  since: number;
  task: number;
  /** why its worker ended, when it did on its own */
  gone?: Error;
}

/** What a pool runs: tasks by id, handed out by take() (-1: none now),
 *  answered in answer(); a task whose hooks stop stepping for the timeout
 *  is stalled() (its worker is replaced). answer() and stalled() may
 *  throw: the run then rejects with that error. The run ends when done(),
 *  whether or not tasks it no longer needs are still running. */
interface Work {
  take(): number;
  task(id: number): Task;
  answer(id: number, m: FromWorker): void;
  stalled(id: number, hook: string, where: string, secs: number): void;
  done(): boolean;
  /** runs finished and the budget, given the runs a busy task has started
   *  (and the runs of each job, for what Ctrl-C prints) */
  progress?(started: (id: number) => number): [runs: number, budget: number, perJob?: number[]];
}

/** A worker's beacon (harness/watch.ts) on cache lines of its own: each
 *  worker writes its heartbeat at every step, and two beacons in one line
 *  would have the workers' cores take that line from each other at every
 *  step (false sharing). */
function paddedBeacon(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(256), 128, SLOTS);
}

/** What bin/allocspec.mjs keeps of each worker it starts before it loads
 *  the bundle itself (a check explores in workers: their load then
 *  overlaps this thread's). */
interface EarlyWorker {
  worker: Worker;
  bundle: string;
  gone?: Error;
  claimed: boolean;
}

/** An early worker that runs on `bundle` and is alive, if one is left. */
function earlyWorker(bundle: string | null): Worker | undefined {
  const all = (globalThis as Record<symbol, EarlyWorker[] | undefined>)[Symbol.for('allocspec.earlyWorkers')] ?? [];
  const e = all.find((x) => !x.claimed && !x.gone && x.bundle === bundle);
  if (!e) return undefined;
  e.claimed = true;
  return e.worker;
}

/** Worker threads that run the tasks of a check (or a replay's probes)
 *  under the watchdog. Start it before the main thread's other work: the
 *  threads load while that goes on. */
export class WorkerPool {
  readonly slots: Slot[] = [];
  private handler: { message(s: Slot, m: FromWorker & { id: number }): void; exit(s: Slot, code: number): void } | null = null;
  private constructor(
    private readonly entry: URL,
    private readonly data: { bundle?: string; timeOrigin?: number },
  ) {}

  /** `size` threads on the bundle of the sources, or on the sources
   *  through tsx when a policy file will be loaded, or when there is no
   *  bundle (harness/worker-entry.mjs); the first is the one
   *  bin/allocspec.mjs started before it loaded the bundle, if any. (A
   *  second thread started later, once the first task ended, spares a bug
   *  found in the first chunk the competition for two cores, 0.04-0.1 s,
   *  but costs a one-job check on two cores 0.3 s: all start now.) */
  static async start(size: number, policyFiles: boolean): Promise<WorkerPool> {
    const bundle = policyFiles ? null : await sourceBundleOnce();
    const timed = (globalThis as Record<symbol, unknown>)[Symbol.for('allocspec.timing')] && process.env.ALLOCSPEC_TIMING ? { timeOrigin: performance.timeOrigin } : {};
    const pool = new WorkerPool(new URL('./worker-entry.mjs', import.meta.url), { ...(bundle ? { bundle } : {}), ...timed });
    for (let i = 0; i < Math.max(1, size); i++) pool.slots.push(pool.spawn({} as Slot, earlyWorker(bundle)));
    timing(`${pool.slots.length} worker thread(s) started${bundle ? '' : ' (through tsx)'}`);
    return pool;
  }

  /** A new worker in slot `s` (events of its earlier worker are ignored),
   *  or the one bin/allocspec.mjs started early. */
  private spawn(s: Slot, early?: Worker): Slot {
    const w = early ?? new Worker(this.entry, { workerData: this.data });
    Object.assign(s, { w, b: paddedBeacon(), beat: -1, since: 0, task: -1, gone: undefined });
    w.on('message', (m: FromWorker & { id: number }) => {
      if (s.w === w) this.handler?.message(s, m);
    });
    // a worker that dies mid-task (out of memory, a native crash, a bundle
    // that does not load) says nothing: without this the run would wait forever
    w.on('error', (e) => {
      if (s.w === w) s.gone = e;
    });
    w.on('exit', (code) => {
      if (s.w !== w) return;
      s.gone ??= new Error(`worker exited with code ${code}`);
      this.handler?.exit(s, code);
    });
    return s;
  }

  /** Terminate a slot's worker (its task stalled, or it is still busy
   *  with a task an earlier run no longer needed) and start another. */
  private replace(s: Slot): void {
    const old = s.w;
    this.spawn(s);
    void old.terminate();
  }

  /** Run `work` to its end on the pool's threads. */
  run(work: Work, timeoutMs: number, onTick?: (runs: number, budget: number, perJob?: number[]) => void): Promise<void> {
    for (const s of this.slots) if (s.task !== -1) this.replace(s);
    const dead = this.slots.find((s) => s.gone);
    if (dead) return Promise.reject(dead.gone!);
    return new Promise<void>((resolveRun, rejectRun) => {
      let over = false;
      let timer: ReturnType<typeof setInterval> | undefined;
      const end = (e?: unknown): void => {
        if (over) return;
        over = true;
        clearInterval(timer);
        this.handler = null;
        if (e === undefined) resolveRun();
        else rejectRun(e);
      };
      const feed = (s: Slot): void => {
        if (over) return;
        if (work.done()) return end();
        const id = work.take();
        s.task = id;
        if (id < 0) return;
        s.since = performance.now();
        s.w.postMessage({ ...work.task(id), id, beacon: s.b } satisfies ToWorker);
      };
      this.handler = {
        message: (s, m) => {
          if (m.id !== s.task) return;
          s.task = -1;
          try {
            work.answer(m.id, m);
          } catch (e) {
            return end(e);
          }
          feed(s);
        },
        exit: (s) => end(new Error(`worker: ${s.gone!.message}${s.task >= 0 ? ` (during task ${s.task})` : ''}`)),
      };
      // the watchdog and the progress display: wall clock, never a verdict
      timer = setInterval(() => {
        const now = performance.now();
        for (const s of this.slots) {
          if (s.task < 0 || !Atomics.load(s.b, ACTIVE)) continue; // idle, or still loading
          const beat = Atomics.load(s.b, BEAT);
          if (beat !== s.beat) {
            s.beat = beat;
            s.since = now;
          } else if (timeoutMs && now - s.since > timeoutMs) {
            const hook = HOOKS[Atomics.load(s.b, HOOK)] || 'callback';
            const where = hook === 'callback' ? 'never returned (an irq_work, kworker or RCU callback it queued, outside its hooks)' : 'never yielded';
            const id = s.task;
            this.replace(s);
            try {
              work.stalled(id, hook, where, +(timeoutMs / 1000).toFixed(3));
            } catch (e) {
              return end(e);
            }
            feed(s);
          }
        }
        if (!over && onTick && work.progress) onTick(...work.progress((id) => this.started(id)));
      }, TICK_MS);
      for (const s of this.slots) feed(s);
    });
  }

  /** Runs started by the task `id` so far (its worker's RUNS). */
  private started(id: number): number {
    const s = this.slots.find((x) => x.task === id && Atomics.load(x.b, ACTIVE) === id + 1);
    return s ? Atomics.load(s.b, RUNS) : 0;
  }

  private closed: Promise<void> | undefined;
  /** Terminate every thread (once; later calls wait for the same end). */
  close(): Promise<void> {
    this.handler = null;
    return (this.closed ??= Promise.all(this.slots.map((s) => s.w.terminate())).then(() => {}));
  }
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
function loadable(specs: readonly JobSpec[], local?: ReadonlyMap<string, { policy: Policy<unknown>; file?: string }>): void {
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
    for (let i = 0; i < chunk.i; i++) for (const inv of Object.keys(j.recs[i]?.knownHits ?? {})) hit.add(inv);
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
async function regressInPool(pool: WorkerPool, policies: readonly { policy: Policy<unknown>; file?: string }[], fixturesDir: string, timeoutMs: number, io: Io): Promise<Regression[]> {
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

export interface ParallelOptions {
  workers: number;
  shard: Shard | null;
  strategy: Strategy;
  pct?: Partial<PctOptions>;
  /** milliseconds a job may go without a hook's step (0: no watchdog, and
   *  a single job runs in this thread) */
  hookTimeout?: number;
  /** live progress on stderr: runs done / budget, rate, ETA (default: when
   *  stderr is a terminal) */
  progress?: boolean;
  /** write a JUnit XML report here */
  junit?: string;
  /** replay each policy's saved fixtures first (default true) */
  regress?: boolean;
  /** where `--json -` writes (the real stdout; the human report then goes
   *  to stderr) */
  stdout?: (s: string) => void;
  /** Ctrl-C (SIGINT) while workers explore: print the runs done per job,
   *  the seed and this command (to run again) or the replay command of
   *  what was found, then exit 130 (the command line sets it) */
  interrupt?: { rerun: string };
}

/** Write a report file the user named ('-': stdout); a failure is one
 *  line and exit 2, after everything else was printed and saved. */
export function writeReport(flag: string, path: string, text: string, stdout: (s: string) => void): void {
  if (path === '-') return stdout(text);
  try {
    writeFileSync(userPath(path), text);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** What a sharded report carries beyond a CheckReport, for merge. */
export interface ShardExtra {
  shard: string;
  configs: string[];
  meta: PolicyMeta[];
  jobs: JobRecord[];
}
export interface PolicyMeta {
  name: string;
  file?: string;
  zoo: boolean;
  checked: InvariantName[];
  /** the policy's own coverage situations (before fault situations) */
  situations: Record<string, string>;
  /** known findings of the policy's seed: the invariants and check's note */
  findings?: { invariants: string[]; known: string };
}

export function policyMeta(policy: Policy<unknown>, file: string | undefined, promise: readonly InvariantName[]): PolicyMeta {
  const all = [...new Set([...(policy.promises ?? []), ...promise])];
  const f = policy.findings;
  return {
    name: policy.name,
    ...(file ? { file } : {}),
    zoo: !!policy.bug,
    checked: checkedInvariants(all, policy),
    situations: situationTexts(policy),
    ...(f ? { findings: { invariants: [...f.invariants], known: `${f.why} (${f.doc})` } } : {}),
  };
}

/** Group job records by policy, in job order. Every configuration's job
 *  ran, so every one counts (runs, coverage); the report shows the first
 *  counterexample in configuration order. */
export function policyResults(policies: number, configs: number, records: readonly JobRecord[]): JobRecord[][] {
  const by: JobRecord[][] = Array.from({ length: policies }, () => []);
  for (const r of [...records].sort((a, b) => a.n - b.n)) by[Math.floor(r.n / configs)]!.push(r);
  return by;
}

/** `allocspec check` through jobs: workers, shards, strategies. */
/** A counterexample a check saved: where, how to replay it, its trace. */
export interface Found {
  counterexample: Counterexample;
  path: string;
  /** the path as output shows it */
  shown: string;
  replay: string;
  trace: string;
}

export async function checkJobs(o: CheckOptions, io: Io, p: ParallelOptions): Promise<{ report: CheckReport; exit: number; saved: Map<string, Found> }> {
  const t0 = performance.now(); // throughput display only
  const stdout = p.stdout ?? io.out;
  const jobs = jobsOf(o.policies.length, o.configs.length, o.seed).filter((j) => inShard(j, p.shard));
  const specs: JobSpec[] = jobs.map((j) => {
    const { policy, file } = o.policies[j.policy]!;
    return { n: j.n, policyRef: file ?? policy.name, policyName: policy.name, config: o.configs[j.config]!, seed: j.seed, runs: o.runs, promise: [...o.promise], strategy: p.strategy, ...(p.pct ? { pct: p.pct } : {}) };
  });
  const local = new Map(o.policies.map((x) => [x.file ?? x.policy.name, x] as const));
  const timeout = p.hookTimeout ?? 0;
  // the worker threads start first, and load while this thread goes on
  let pool: WorkerPool | undefined;
  if (usesWorkers(specs, p.workers, timeout) || (timeout && p.regress !== false && savedFixtures(o.policies, o.fixturesDir).length)) {
    loadable(specs, local);
    pool = await WorkerPool.start(poolSize(specs, p.workers), o.policies.some((x) => x.file));
  }
  try {
    return await checkWith(o, io, p, specs, t0, stdout, local, pool);
  } finally {
    await pool?.close();
  }
}

async function checkWith(
  o: CheckOptions,
  io: Io,
  p: ParallelOptions,
  specs: JobSpec[],
  t0: number,
  stdout: (s: string) => void,
  local: ReadonlyMap<string, { policy: Policy<unknown>; file?: string }>,
  pool: WorkerPool | undefined,
): Promise<{ report: CheckReport; exit: number; saved: Map<string, Found> }> {
  // regression first: the policies' saved counterexamples, in the workers
  // when there is a watchdog (a policy edited into a hook that never
  // yields is stopped here too, not hung on)
  let regressions: Regression[] = [];
  if (p.regress !== false) {
    regressions = pool && p.hookTimeout ? await regressInPool(pool, o.policies, o.fixturesDir, p.hookTimeout, io) : replaySaved(o.policies, o.fixturesDir, io);
    timing('saved counterexamples replayed');
  }
  // live progress: one line rewritten on a terminal, a line a few seconds
  // apart otherwise (only when asked); the clock feeds the display only
  const live = p.progress ?? (io.tty && !o.quiet);
  let shown = false;
  let lastLine = -Infinity;
  const clear = (): void => {
    if (shown && io.tty) io.err('\r\x1b[K');
    shown = false;
  };
  const tick = (runs: number, budget: number, force = false): void => {
    if (!live) return;
    const now = performance.now();
    const secs = (now - t0) / 1000;
    const rate = secs > 0 ? runs / secs : 0;
    const eta = rate > 0 ? Math.max(0, (budget - runs) / rate) : NaN;
    const text = `progress: ${runs}/${budget} runs (${budget ? Math.floor((100 * runs) / budget) : 100}%), ${rate.toFixed(0)} runs/s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'}`;
    if (io.tty) {
      io.err(`\r\x1b[K${text}`);
      shown = true;
    } else if (force || now - lastLine >= 2000) {
      io.err(text + '\n');
      lastLine = now;
    }
  };
  const budget = specs.reduce((a, s) => a + s.runs, 0);
  tick(0, budget, true);
  // Ctrl-C: what was done, and how to go on (fixtures are written whole,
  // by rename, so nothing partial is left on disk)
  const perJob = new Map<number, number>();
  let lastPerJob: number[] = [];
  const onInt = (): void => {
    clear();
    if (live && !io.tty) io.err('\n');
    const runsOf = (i: number): number => perJob.get(i) ?? lastPerJob[i] ?? 0;
    const total = specs.reduce((a, _, i) => a + runsOf(i), 0);
    const lines = [`allocspec: interrupted (Ctrl-C) after ${total} of ${budget} runs; seed ${o.seed}`];
    specs.forEach((s, i) => {
      if (runsOf(i) || perJob.has(i)) lines.push(`  ${s.policyName ?? s.policyRef} [${s.config.name}]: ${runsOf(i)}/${s.runs} runs${perJob.has(i) ? ' (done)' : ''}`);
    });
    const idle = specs.filter((_, i) => !runsOf(i) && !perJob.has(i)).length;
    if (idle) lines.push(`  ${idle} other job(s): not started`);
    for (const f of saved.values()) lines.push(`  found: ${shownPath(f.path)}; replay: ${replayCommandOf(f.path)}`);
    lines.push(`  run it again (same seed, same runs): ${p.interrupt!.rerun}`);
    io.err(lines.join('\n') + '\n');
    void (pool?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  if (p.interrupt && pool) process.once('SIGINT', onInt);
  // as each job ends: a progress line, and its counterexample on disk
  // before anything else can fail
  const saved = new Map<string, SavedFixture>();
  const onRecord = (spec: JobSpec, rec: JobRecord): void => {
    const { policy, file } = o.policies[Math.floor(spec.n / o.configs.length)]!;
    const r = fromRecord(rec);
    clear();
    if (r.counterexample) {
      try {
        saved.set(`${policy.name}|${spec.config.name}`, saveFixture(o, policy, file, spec.config, r.counterexample));
      } catch (e) {
        // cannot save: print the counterexample (the trace and the fixture
        // itself), then the one line of the error
        const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
        const { fixture, trace } = fixtureOf(policy, file, spec.config, promise, r.counterexample);
        io.out(`\n${policy.name}: ${r.counterexample.invariant} violated (config ${spec.config.name}, seed ${r.counterexample.seed}, path ${r.counterexample.path}); NOT SAVED, the fixture follows\n\n${trace}\n${JSON.stringify(fixture, null, 2)}\n`);
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        throw new UsageError(`--fixtures ${shownPath(o.fixturesDir)}: cannot write the counterexample (${code}); it is printed above`);
      }
    }
    perJob.set(specs.indexOf(spec), r.runs);
    if (!o.quiet) io.err(progressLine(`${policy.name} [${spec.config.name}]`, r));
  };
  let records: JobRecord[];
  try {
    records = await runJobs(specs, p.workers, onRecord, {
      hookTimeout: p.hookTimeout ?? 0,
      onTick: (r, b, each) => {
        if (each) lastPerJob = each;
        tick(r, b);
      },
      local,
      ...(pool ? { pool } : {}),
    });
  } finally {
    process.off('SIGINT', onInt);
    clear();
    // chunks no job needs any more may still run: not while this thread
    // reports (checkJobs waits for the threads' end)
    void pool?.close();
  }
  timing('jobs done');
  if (live) tick(budget, budget, true), clear();
  const grouped = policyResults(o.policies.length, o.configs.length, records);
  const runs: PolicyRun[] = [];
  o.policies.forEach(({ policy, file }, i) => {
    const rs = grouped[i]!;
    if (!rs.length) return; // another shard's policy
    runs.push({ policy, file, results: rs.map(fromRecord), faults: new Set(rs.flatMap((r) => r.faults)) });
  });
  const res = reportCheck({ ...o, json: undefined }, io, runs, t0, saved);
  if (regressions.length) {
    io.out(`\n${regressions.length} saved counterexample(s) do not end as the gate expects (replayed before exploring; docs/ci.md):\n`);
    for (const r of regressions) io.out(`  ${r.policy} [${r.config}] ${r.fixture}: ${r.text}\n    replay: ${r.replay}\n`);
    res.exit = 1;
  }
  // CI reports
  const annotate = process.env.GITHUB_ACTIONS === 'true';
  const { violationSite } = annotate ? await import('./site.ts') : { violationSite: undefined };
  const suites: SuiteResult[] = runs.map(({ policy, file, results }) => {
    const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
    const f = policy.findings;
    const cases: SuiteResult['cases'] = checkedInvariants(promise, policy).flatMap((inv) =>
      results.map((r) => {
        const cx = r.counterexample?.invariant === inv ? r.counterexample : null;
        const s = cx ? saved.get(`${policy.name}|${r.config}`) : undefined;
        const known = r.known.some((k) => k.invariant === inv);
        // annotations: the user's policy file and line, when the violation fired in their code
        const site = cx && file && violationSite ? violationSite(policy, file, o.configs.find((c) => c.name === r.config)!, promise, cx.commands, cx.invariant) : null;
        return {
          invariant: inv,
          config: r.config,
          ...(cx && s ? { failure: { message: cx.message, trace: s.trace, fixture: shownPath(s.path), replay: replayCommandOf(s.path), ...(site ? { site: { file: shownPath(site.file), line: site.line } } : {}) } } : {}),
          ...(known && f ? { known: `${f.why} (${f.doc}); runs ending there: ${r.knownHits[inv] ?? 0}` } : {}),
        };
      }),
    );
    for (const r of regressions.filter((x) => x.policy === policy.name)) {
      cases.push({ invariant: `saved ${r.fixture}`, config: r.config, failure: { message: `${r.invariant}: ${r.message}`, trace: '', fixture: r.fixture, replay: r.replay } });
    }
    return { policy: policy.name, cases };
  });
  if (annotate) stdout(githubAnnotations(suites));
  if (p.junit) writeReport('--junit', p.junit, renderJunit(suites), stdout);
  if (o.json && !p.shard) writeReport('--json', o.json, JSON.stringify(res.report, null, 2) + '\n', stdout);
  const found = new Map<string, Found>();
  for (const { policy, results } of runs) {
    for (const r of results) {
      const s = saved.get(`${policy.name}|${r.config}`);
      if (r.counterexample && s) found.set(`${policy.name}|${r.config}`, { counterexample: r.counterexample, path: s.path, shown: shownPath(s.path), replay: replayCommandOf(s.path), trace: s.trace });
    }
  }
  if (p.shard && o.json) {
    // the fixture each shard saved, for merge
    for (const rep of res.report.policies) {
      const cx = rep.counterexample;
      const rec = cx && records.find((r) => r.policy === rep.policy && r.config === cx.config);
      if (rec && rec.counterexample && cx.fixture) rec.counterexample.fixture = cx.fixture;
    }
    for (const rep of res.report.policies) {
      for (const k of rep.known) {
        const kc = records.find((r) => r.policy === rep.policy && r.config === k.config)?.known.find((c) => c.invariant === k.invariant);
        if (kc && k.fixture) kc.fixture = k.fixture;
      }
    }
    const extra: ShardExtra = {
      shard: `${p.shard.index}/${p.shard.count}`,
      configs: o.configs.map((c) => c.name),
      meta: o.policies.map(({ policy, file }) => policyMeta(policy, file, o.promise)),
      jobs: records,
    };
    writeReport('--json', o.json, JSON.stringify({ ...res.report, ...extra }, null, 2) + '\n', stdout);
  }
  return { ...res, saved: found };
}
