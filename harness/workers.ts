// `allocspec check --workers N --shard i/n`: the (policy, configuration)
// jobs of a check run in N worker threads, each job exactly as the
// sequential check runs it (same seed, same fast-check run), so the report
// is the same for any N. Jobs are handed out one at a time to whichever
// worker is free, the costliest first (jobCost), so that no long job starts
// last, and a worker's next job of the same policy as its last while there
// is one (each worker warms fewer policies' code); results are put back in
// job order. Workers start on a bundle of the sources (harness/bundle.ts),
// so no thread compiles TypeScript again.
import { availableParallelism } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { fixtureOf } from './check.ts';
import { githubAnnotations, renderJunit, type SuiteResult } from './junit.ts';
import { replayCommand as replayCommandOf, shownPath, userPath } from './paths.ts';
import { replaySaved, savedFixtures } from './regress.ts';
import type { InvariantName } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { progressLine, reportCheck, saveFixture, type CheckOptions, type Io, type PolicyRun, type SavedFixture } from './check.ts';
import { checkedInvariants, type CheckReport } from './report.ts';
import type { CheckConfig } from './config.ts';
import { explore, type Counterexample } from './explore.ts';
import { resolvePolicy } from './policies.ts';
import { faultKinds } from './sim.ts';
import { PolicyError, UsageError } from './errors.ts';
import { fromRecord, inShard, jobsOf, toRecord, type JobRecord, type Shard } from './shard.ts';
import { situationTexts } from './coverage.ts';
import { explorePct, type PctOptions } from './pct.ts';
import { workerBundleOnce } from './bundle.ts';
import { Violation } from '../spec/kernel/types.ts';
import { findPolicy } from '../spec/policies/index.ts';
import { ACTIVE, asPolicyError, BEAT, beacon, HOOK, HOOKS, RUNS, watchedPolicy } from './watch.ts';

export type Strategy = 'uniform' | 'pct';

/** What a worker needs to run one job: plain data only. */
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
}

export function defaultWorkers(): number {
  return availableParallelism();
}

/** Run one job in this thread; with a beacon, the policy's hooks publish
 *  their steps to it (harness/watch.ts). */
export function runJob(spec: JobSpec, policy: Policy<unknown>, file?: string, b?: Int32Array): JobRecord {
  const opts = { seed: spec.seed, runs: spec.runs, promise: spec.promise };
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
type FromWorker = { ok: true; record: JobRecord } | { ok: false; error: string; usage?: true; policyError?: PolicyErrorParts };

/** What a failed job sends back: enough to throw, in the main thread, the
 *  error the job throws inline (the CLI turns UsageError and PolicyError
 *  into one line and exit 2). */
function failure(e: unknown): FromWorker {
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (e instanceof PolicyError) {
    return { ok: false, error, policyError: { policy: e.policy, hook: e.hook, where: e.where, cause: e.cause instanceof Error ? e.cause.message : String(e.cause) } };
  }
  if (e instanceof UsageError) return { ok: false, error: e.message, usage: true };
  return { ok: false, error };
}

function raised(m: Extract<FromWorker, { ok: false }>, job: number): Error {
  const p = m.policyError;
  if (p) return new PolicyError(p.policy, p.hook, p.where, p.cause);
  if (m.usage) return new UsageError(m.error);
  return new Error(`worker: job ${job}: ${m.error}`);
}

/** What the main thread sends a worker: a job (or a fixture to run once,
 *  for replay's watchdog) and the worker's beacon. */
type ToWorker = { spec: JobSpec; beacon: Int32Array } | { probe: string; beacon: Int32Array };

/** Run a fixture's commands once with the hooks watched; a violation is no
 *  error here (replay reports it), anything else is. */
async function probe(file: string, b: Int32Array): Promise<void> {
  const { loadFixture } = await import('./replay.ts');
  const { isInvariant } = await import('../model/invariants.ts');
  const { runCommands } = await import('./explore.ts');
  const { fixture, policy } = await loadFixture(file);
  Atomics.add(b, BEAT, 1);
  Atomics.store(b, ACTIVE, 1);
  try {
    runCommands(watchedPolicy(policy, b), fixture.config, fixture.commands, { promise: fixture.promise.filter(isInvariant) });
  } catch (e) {
    const err = asPolicyError(policy, e);
    if (!(err instanceof Violation)) throw err;
  }
}

/** The worker side: one job per message, one result per job. */
export function serve(): void {
  parentPort!.on('message', async (m: ToWorker) => {
    let msg: FromWorker;
    const b = m.beacon;
    if ('probe' in m) {
      try {
        await probe(m.probe, b);
        msg = { ok: true, record: null as unknown as JobRecord };
      } catch (e) {
        msg = failure(e);
      }
      Atomics.store(b, ACTIVE, 0);
      return parentPort!.postMessage(msg);
    }
    const { spec } = m;
    try {
      const { policy, file } = await policyOf(spec.policyRef);
      Atomics.store(b, RUNS, 0);
      Atomics.add(b, BEAT, 1);
      Atomics.store(b, ACTIVE, spec.n + 1);
      msg = { ok: true, record: runJob(spec, policy, file, b) };
    } catch (e) {
      msg = failure(e);
    }
    Atomics.store(b, ACTIVE, 0);
    parentPort!.postMessage(msg);
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

export interface RunJobsOptions {
  /** milliseconds a job may go without a step of a hook before its worker
   *  is terminated and the hook named (0: no watchdog) */
  hookTimeout?: number;
  /** runs started so far (capped by each job's budget) and the total
   *  budget, about every quarter second while workers run */
  onTick?: (runs: number, budget: number) => void;
  /** policies at hand in this thread, by policyRef (objects given to the
   *  API need not be built-in or in a file); others are resolved by name
   *  or file */
  local?: ReadonlyMap<string, { policy: Policy<unknown>; file?: string }>;
}

/** How often the main thread looks at the workers' beacons. */
const TICK_MS = 250;

/** Run jobs on `workers` threads (1 without a watchdog: in this thread);
 *  results in job order. onRecord sees each record as soon as its job
 *  ends. With a hook timeout every job runs in a worker, so that a hook
 *  that never yields can be stopped. */
export async function runJobs(specs: JobSpec[], workers: number, onRecord?: (spec: JobSpec, r: JobRecord) => void, ro: RunJobsOptions = {}): Promise<JobRecord[]> {
  const out: JobRecord[] = new Array(specs.length);
  const timeout = ro.hookTimeout ?? 0;
  if (!timeout && (workers <= 1 || specs.length <= 1)) {
    for (let i = 0; i < specs.length; i++) {
      const { policy, file } = ro.local?.get(specs[i]!.policyRef) ?? (await policyOf(specs[i]!.policyRef));
      out[i] = runJob(specs[i]!, policy, file);
      onRecord?.(specs[i]!, out[i]!);
    }
    return out;
  }
  if (!specs.length) return out;
  for (const s of specs) {
    const l = ro.local?.get(s.policyRef);
    if (l && !l.file && findPolicy(s.policyRef) !== l.policy) {
      throw new UsageError(`policy ${l.policy.name} is an object of this process, not a built-in or a file: a worker thread cannot load it (run it in this thread: workers 1, no hook timeout)`);
    }
  }
  const entry = await workerEntry(specs.some((s) => !findPolicy(s.policyRef)));
  const pool = Array.from({ length: Math.max(1, Math.min(workers, specs.length)) }, () => ({ w: new Worker(entry), b: beacon(), beat: -1, since: 0, at: -1 }));
  const pending = dispatchOrder(specs);
  const budget = specs.reduce((a, s) => a + s.runs, 0);
  const byN = new Map(specs.map((s) => [s.n, s]));
  let finished = 0;
  /** The next job for a worker that just ran `last`: the costliest left of
   *  the same policy (its code is warm in that worker), else the costliest. */
  const take = (last: number): number => {
    const same = last < 0 ? -1 : pending.findIndex((i) => specs[i]!.policyRef === specs[last]!.policyRef);
    return pending.splice(Math.max(same, 0), 1)[0]!;
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let live = pool.length;
      // the watchdog and the progress display: wall clock, never a verdict
      timer = setInterval(() => {
        const now = performance.now();
        let runs = finished;
        for (const p of pool) {
          const active = Atomics.load(p.b, ACTIVE);
          if (!active) continue;
          const spec = byN.get(active - 1)!;
          runs += Math.min(Atomics.load(p.b, RUNS), spec.runs);
          const beat = Atomics.load(p.b, BEAT);
          if (beat !== p.beat) {
            p.beat = beat;
            p.since = now;
          } else if (timeout && now - p.since > timeout) {
            const hook = HOOKS[Atomics.load(p.b, HOOK)] || 'callback';
            const secs = +(timeout / 1000).toFixed(3);
            const where = hook === 'callback' ? 'never returned (an irq_work, kworker or RCU callback it queued, outside its hooks)' : 'never yielded';
            void p.w.terminate();
            p.at = -2; // its exit is expected now
            return rejectAll(new PolicyError(spec.policyName ?? spec.policyRef, hook, where, `no step for ${secs} s in config ${spec.config.name} (--hook-timeout ${secs}: a loop without a yield?)`));
          }
        }
        ro.onTick?.(runs, budget);
      }, TICK_MS);
      for (const p of pool) {
        const { w, b } = p;
        const feed = (): void => {
          if (!pending.length) {
            p.at = -2;
            if (--live === 0) resolveAll();
            return;
          }
          p.at = take(p.at < 0 ? -1 : p.at);
          p.since = performance.now();
          w.postMessage({ spec: specs[p.at], beacon: b } satisfies ToWorker);
        };
        // a worker that dies mid-job (out of memory, a native crash)
        // says nothing: without this the run would wait forever
        w.on('exit', (code) => {
          if (p.at !== -2) rejectAll(new Error(`worker exited with code ${code} during job ${p.at} (${specs[p.at]?.policyRef})`));
        });
        w.on('message', (m: FromWorker) => {
          if (!m.ok) return rejectAll(raised(m, p.at));
          out[p.at] = m.record;
          finished += specs[p.at]!.runs;
          try {
            onRecord?.(specs[p.at]!, m.record);
          } catch (e) {
            return rejectAll(e);
          }
          feed();
        });
        w.on('error', rejectAll);
        feed();
      }
    });
  } finally {
    clearInterval(timer);
    await Promise.all(pool.map((p) => p.w.terminate()));
  }
  return out;
}

/** Where a worker starts: the bundle of the sources, which loads fast; or,
 *  when a job runs a policy file, the sources themselves through tsx
 *  (harness/worker-entry.mjs), so that the policy file and the harness
 *  share one instance of every spec/ module in that worker as in the main
 *  thread (the bundle holds copies of its own). */
async function workerEntry(policyFiles: boolean): Promise<string | URL> {
  const sources = new URL('./worker-entry.mjs', import.meta.url);
  if (policyFiles) return sources;
  return (await workerBundleOnce()) ?? sources;
}

/** Replay's watchdog: run each fixture once in a worker first, so that a
 *  hook that never yields is stopped after timeoutMs and named (replay
 *  itself then runs in this thread, where it cannot be interrupted). */
export async function probeFixtures(files: readonly { file: string; policy: string }[], timeoutMs: number, skipBadInput = false): Promise<void> {
  if (!files.length || !timeoutMs) return;
  const entry = await workerEntry(files.some((f) => !findPolicy(f.policy)));
  const w = new Worker(entry);
  const b = beacon();
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    for (const { file, policy } of files) {
      await new Promise<void>((resolveOne, reject) => {
        let beat = -1;
        let since = performance.now();
        let over = false;
        const done = (f: () => void): void => {
          over = true;
          clearInterval(timer);
          w.removeAllListeners('message');
          w.removeAllListeners('exit');
          f();
        };
        timer = setInterval(() => {
          const now = performance.now();
          const cur = Atomics.load(b, BEAT);
          if (cur !== beat) {
            beat = cur;
            since = now;
          } else if (Atomics.load(b, ACTIVE) && now - since > timeoutMs) {
            const hook = HOOKS[Atomics.load(b, HOOK)] || 'callback';
            const secs = +(timeoutMs / 1000).toFixed(3);
            const where = hook === 'callback' ? 'never returned (an irq_work, kworker or RCU callback it queued, outside its hooks)' : 'never yielded';
            done(() => reject(new PolicyError(policy, hook, where, `no step for ${secs} s (--hook-timeout ${secs}: a loop without a yield?)`)));
          }
        }, TICK_MS);
        w.once('exit', (code) => !over && done(() => reject(new Error(`replay watchdog: worker exited with code ${code}`))));
        w.once('message', (m: FromWorker) => done(() => (m.ok || (skipBadInput && m.usage) ? resolveOne() : reject(raised(m, 0)))));
        w.postMessage({ probe: file, beacon: b } satisfies ToWorker);
      });
    }
  } finally {
    clearInterval(timer);
    await w.terminate();
  }
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
    checked: checkedInvariants(all),
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
  // regression first: the policies' saved counterexamples
  if (p.regress !== false && p.hookTimeout) {
    // the saved fixtures run once in a watched worker first: a policy edited
    // into a hook that never yields is stopped here too, not hung on
    await probeFixtures(savedFixtures(o.policies, o.fixturesDir), p.hookTimeout, true);
  }
  const regressions = p.regress === false ? [] : replaySaved(o.policies, o.fixturesDir, io);
  const jobs = jobsOf(o.policies.length, o.configs.length, o.seed).filter((j) => inShard(j, p.shard));
  const specs: JobSpec[] = jobs.map((j) => {
    const { policy, file } = o.policies[j.policy]!;
    return { n: j.n, policyRef: file ?? policy.name, policyName: policy.name, config: o.configs[j.config]!, seed: j.seed, runs: o.runs, promise: [...o.promise], strategy: p.strategy, ...(p.pct ? { pct: p.pct } : {}) };
  });
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
    if (!o.quiet) io.err(progressLine(`${policy.name} [${spec.config.name}]`, r));
  };
  let records: JobRecord[];
  try {
    const local = new Map(o.policies.map((x) => [x.file ?? x.policy.name, x] as const));
    records = await runJobs(specs, p.workers, onRecord, { hookTimeout: p.hookTimeout ?? 0, onTick: (r, b) => tick(r, b), local });
  } finally {
    clear();
  }
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
    io.out(`\n${regressions.length} saved counterexample(s) still violate (replayed before exploring):\n`);
    for (const r of regressions) io.out(`  ${r.policy}: ${r.invariant} [${r.config}] ${r.fixture}\n    replay: ${r.replay}\n`);
    res.exit = 1;
  }
  // CI reports
  const suites: SuiteResult[] = runs.map(({ policy, results }) => {
    const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
    const f = policy.findings;
    const cases: SuiteResult['cases'] = checkedInvariants(promise).flatMap((inv) =>
      results.map((r) => {
        const cx = r.counterexample?.invariant === inv ? r.counterexample : null;
        const s = cx ? saved.get(`${policy.name}|${r.config}`) : undefined;
        const known = r.known.some((k) => k.invariant === inv);
        return {
          invariant: inv,
          config: r.config,
          ...(cx && s ? { failure: { message: cx.message, trace: s.trace, fixture: shownPath(s.path), replay: replayCommandOf(s.path) } } : {}),
          ...(known && f ? { known: `${f.why} (${f.doc}); runs ending there: ${r.knownHits[inv] ?? 0}` } : {}),
        };
      }),
    );
    for (const r of regressions.filter((x) => x.policy === policy.name)) {
      cases.push({ invariant: `saved ${r.fixture}`, config: r.config, failure: { message: `${r.invariant}: ${r.message}`, trace: '', fixture: r.fixture, replay: r.replay } });
    }
    return { policy: policy.name, cases };
  });
  if (process.env.GITHUB_ACTIONS === 'true') stdout(githubAnnotations(suites));
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
