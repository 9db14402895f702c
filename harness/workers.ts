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
import type { InvariantName } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { progressLine, reportCheck, saveFixture, type CheckOptions, type Io, type PolicyRun, type SavedFixture } from './check.ts';
import { checkedInvariants, type CheckReport } from './report.ts';
import type { CheckConfig } from './config.ts';
import { explore } from './explore.ts';
import { resolvePolicy } from './policies.ts';
import { faultKinds } from './sim.ts';
import { PolicyError, UsageError } from './errors.ts';
import { fromRecord, inShard, jobsOf, toRecord, type JobRecord, type Shard } from './shard.ts';
import { MEMALLOC_SITUATIONS } from './coverage.ts';
import { explorePct, type PctOptions } from './pct.ts';
import { workerBundleOnce } from './bundle.ts';

export type Strategy = 'uniform' | 'pct';

/** What a worker needs to run one job: plain data only. */
export interface JobSpec {
  n: number;
  /** a built-in policy name, or the policy's file */
  policyRef: string;
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

/** Run one job in this thread. */
export function runJob(spec: JobSpec, policy: Policy<unknown>, file?: string): JobRecord {
  const opts = { seed: spec.seed, runs: spec.runs, promise: spec.promise };
  const r = spec.strategy === 'pct' ? explorePct(policy, spec.config, { ...opts, ...spec.pct }) : explore(policy, spec.config, opts);
  return toRecord(spec.n, r, faultKinds(policy, spec.config), file);
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

/** The worker side: one job per message, one result per job. */
export function serve(): void {
  parentPort!.on('message', async (spec: JobSpec) => {
    let msg: FromWorker;
    try {
      const { policy, file } = await policyOf(spec.policyRef);
      msg = { ok: true, record: runJob(spec, policy, file) };
    } catch (e) {
      msg = failure(e);
    }
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

/** Run jobs on `workers` threads (1: in this thread); results in job
 *  order. onRecord sees each record as soon as its job ends. */
export async function runJobs(specs: JobSpec[], workers: number, onRecord?: (spec: JobSpec, r: JobRecord) => void): Promise<JobRecord[]> {
  const out: JobRecord[] = new Array(specs.length);
  if (workers <= 1 || specs.length <= 1) {
    for (let i = 0; i < specs.length; i++) {
      const { policy, file } = await policyOf(specs[i]!.policyRef);
      out[i] = runJob(specs[i]!, policy, file);
      onRecord?.(specs[i]!, out[i]!);
    }
    return out;
  }
  // the bundle, or the sources through tsx when it cannot be built
  const entry = (await workerBundleOnce()) ?? new URL('./worker-entry.mjs', import.meta.url);
  const pool = Array.from({ length: Math.min(workers, specs.length) }, () => new Worker(entry));
  const pending = dispatchOrder(specs);
  /** The next job for a worker that just ran `last`: the costliest left of
   *  the same policy (its code is warm in that worker), else the costliest. */
  const take = (last: number): number => {
    const same = last < 0 ? -1 : pending.findIndex((i) => specs[i]!.policyRef === specs[last]!.policyRef);
    return pending.splice(Math.max(same, 0), 1)[0]!;
  };
  try {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let at = -1;
            let idle = false;
            const feed = (): void => {
              if (!pending.length) {
                idle = true;
                return resolve();
              }
              at = take(at);
              w.postMessage(specs[at]);
            };
            // a worker that dies mid-job (out of memory, a native crash)
            // says nothing: without this the run would wait forever
            w.on('exit', (code) => {
              if (!idle) reject(new Error(`worker exited with code ${code} during job ${at} (${specs[at]?.policyRef})`));
            });
            w.on('message', (m: FromWorker) => {
              if (!m.ok) return reject(raised(m, at));
              out[at] = m.record;
              try {
                onRecord?.(specs[at]!, m.record);
              } catch (e) {
                return reject(e);
              }
              feed();
            });
            w.on('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return out;
}

export interface ParallelOptions {
  workers: number;
  shard: Shard | null;
  strategy: Strategy;
  pct?: Partial<PctOptions>;
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
    situations: { ...(policy.situations ?? MEMALLOC_SITUATIONS) },
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
export async function checkJobs(o: CheckOptions, io: Io, p: ParallelOptions): Promise<{ report: CheckReport; exit: number }> {
  const t0 = performance.now(); // throughput display only
  const jobs = jobsOf(o.policies.length, o.configs.length, o.seed).filter((j) => inShard(j, p.shard));
  const specs: JobSpec[] = jobs.map((j) => {
    const { policy, file } = o.policies[j.policy]!;
    return { n: j.n, policyRef: file ?? policy.name, config: o.configs[j.config]!, seed: j.seed, runs: o.runs, promise: [...o.promise], strategy: p.strategy, ...(p.pct ? { pct: p.pct } : {}) };
  });
  // as each job ends: a progress line, and its counterexample on disk
  // before anything else can fail
  const saved = new Map<string, SavedFixture>();
  const onRecord = (spec: JobSpec, rec: JobRecord): void => {
    const { policy, file } = o.policies[Math.floor(spec.n / o.configs.length)]!;
    const r = fromRecord(rec);
    if (r.counterexample) saved.set(`${policy.name}|${spec.config.name}`, saveFixture(o, policy, file, spec.config, r.counterexample));
    if (!o.quiet) io.err(progressLine(`${policy.name} [${spec.config.name}]`, r));
  };
  const records = await runJobs(specs, p.workers, onRecord);
  const grouped = policyResults(o.policies.length, o.configs.length, records);
  const runs: PolicyRun[] = [];
  o.policies.forEach(({ policy, file }, i) => {
    const rs = grouped[i]!;
    if (!rs.length) return; // another shard's policy
    runs.push({ policy, file, results: rs.map(fromRecord), faults: new Set(rs.flatMap((r) => r.faults)) });
  });
  const res = reportCheck({ ...o, json: p.shard ? undefined : o.json }, io, runs, t0, saved);
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
    writeFileSync(o.json, JSON.stringify({ ...res.report, ...extra }, null, 2) + '\n');
  }
  return res;
}
