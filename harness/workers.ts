// `allocspec check --workers N --shard i/n`: the (policy, configuration)
// jobs of a check run in N worker threads, each job exactly as the
// sequential check runs it (same seed, same fast-check run), so the report
// is the same for any N. Jobs are handed out one at a time to whichever
// worker is free; results are put back in job order.
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
import { Sim } from './sim.ts';
import { fromRecord, inShard, jobsOf, toRecord, type JobRecord, type Shard } from './shard.ts';
import { MEMALLOC_SITUATIONS } from './coverage.ts';
import { explorePct, type PctOptions } from './pct.ts';

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
  return toRecord(spec.n, r, new Sim(policy, spec.config).faultKinds, file);
}

const cache = new Map<string, Promise<{ policy: Policy<unknown>; file?: string }>>();
function policyOf(ref: string): Promise<{ policy: Policy<unknown>; file?: string }> {
  let p = cache.get(ref);
  if (!p) cache.set(ref, (p = resolvePolicy(ref)));
  return p;
}

type FromWorker = { ok: true; record: JobRecord } | { ok: false; error: string };

/** The worker side: one job per message, one result per job. */
export function serve(): void {
  parentPort!.on('message', async (spec: JobSpec) => {
    let msg: FromWorker;
    try {
      const { policy, file } = await policyOf(spec.policyRef);
      msg = { ok: true, record: runJob(spec, policy, file) };
    } catch (e) {
      msg = { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
    parentPort!.postMessage(msg);
  });
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
  const pool = Array.from({ length: Math.min(workers, specs.length) }, () => new Worker(new URL('./worker-entry.mjs', import.meta.url)));
  let next = 0;
  try {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let at = -1;
            const feed = (): void => {
              if (next >= specs.length) return resolve();
              at = next++;
              w.postMessage(specs[at]);
            };
            w.on('message', (m: FromWorker) => {
              if (!m.ok) return reject(new Error(`worker: job ${at}: ${m.error}`));
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
