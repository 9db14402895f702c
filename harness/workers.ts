// Worker threads: the pool a check (or a replay's watchdog) runs its tasks
// on, and the messages between it and its threads. A worker answers one
// task per message (harness/serve.ts); the pool hands tasks out to free
// threads, watches each task's beacon (harness/watch.ts) and replaces a
// thread whose hook stopped stepping. What the tasks are (a check's jobs
// and chunks, replay's probes, the saved counterexamples) is harness/
// job.ts's; what a check does with their records is harness/check.ts's.
// Workers start on the bundle of the sources (harness/bundle.ts), so no
// thread compiles TypeScript again.
import { Worker } from 'node:worker_threads';
import type { InvariantName } from '../model/invariants.ts';
import type { CheckConfig } from './config.ts';
import { PolicyError, UsageError } from './errors.ts';
import type { PctOptions } from './pct.ts';
import type { Regression } from './regress.ts';
import type { JobRecord } from './shard.ts';
import { sourceBundleOnce } from './bundle.ts';
import { ACTIVE, BEAT, HOOK, HOOKS, RUNS, SLOTS } from './watch.ts';

export type { RandomStrategy as Strategy } from './strategies/index.ts';
import type { RandomStrategy as Strategy } from './strategies/index.ts';

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

/** Start-up phases for ALLOCSPEC_TIMING (bin/allocspec.mjs). */
export function timing(what: string): void {
  (globalThis as Record<symbol, ((s: string) => void) | undefined>)[Symbol.for('allocspec.timing')]?.(what);
}

/** A PolicyError's parts, to raise it again in the main thread. */
export interface PolicyErrorParts {
  policy: string;
  hook: string;
  where: string;
  cause: string;
}
/** What regression replay of one policy printed and found (in a worker). */
export interface Regressed {
  /** [0: stdout | 1: stderr, text], in order */
  lines: [0 | 1, string][];
  regressions: Regression[];
}
export type Failed = { ok: false; error: string; usage?: true; policyError?: PolicyErrorParts };
export type FromWorker = { ok: true; record?: JobRecord; regressed?: Regressed } | Failed;

/** What a failed task sends back: enough to throw, in the main thread, the
 *  error the task throws inline (the CLI turns UsageError and PolicyError
 *  into one line and exit 2). */
export function failure(e: unknown): Failed {
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (e instanceof PolicyError) {
    return { ok: false, error, policyError: { policy: e.policy, hook: e.hook, where: e.where, cause: e.cause instanceof Error ? e.cause.message : String(e.cause) } };
  }
  if (e instanceof UsageError) return { ok: false, error: e.message, usage: true };
  return { ok: false, error };
}

export function raised(m: Failed, what: string): Error {
  const p = m.policyError;
  if (p) return new PolicyError(p.policy, p.hook, p.where, p.cause);
  if (m.usage) return new UsageError(m.error);
  return new Error(`worker: ${what}: ${m.error}`);
}

/** What the main thread sends a worker: a job or chunk, a fixture to run
 *  once (replay's watchdog), or a policy's saved fixtures to replay
 *  (check's regression first); with the task's id and the worker's beacon. */
export type Task = { spec: JobSpec } | { probe: string } | { regress: { policyRef: string; fixturesDir: string } };
export type ToWorker = Task & { id: number; beacon: Int32Array };

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
export interface Work {
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
