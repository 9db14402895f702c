// `allocspec check`: the orchestration (regression first, the jobs of every
// policy and configuration, progress, Ctrl-C, shards) and the reporting
// (save and print the first counterexample of each policy, print the
// table, write JSON and JUnit). The explorations run as jobs (harness/
// job.ts), in this thread or on the worker pool (harness/workers.ts).
import { knownInvariants, knownKey } from './findings.ts';
import { REFRESH_RATES } from './drift.ts';
import { writeFileSync } from 'node:fs';
import { isInvariant, type InvariantName } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { CheckConfig } from './config.ts';
import { expectedSituations, situationTexts } from './coverage.ts';
import { runCommands, type ExploreResult } from './explore.ts';
import { knownObservations } from './shrink.ts';
import { compareRates, readRates, renderRates, writeRates, type JobHits } from './drift.ts';
import { FIXTURE_FORMAT, FIXTURE_VERSION, sha256, specHash, writeFixture, type Fixture } from './fixture.ts';
import { checkedInvariants, policyReport, renderTable, type CheckReport, type PolicyReport } from './report.ts';
import type { FaultKind } from '../spec/kernel/slab.ts';
import { renderText, TraceRecorder } from './trace.ts';
import { replayCommand, replayCommand as replayCommandOf, shownPath, userPath } from './paths.ts';
import { UsageError } from './errors.ts';
import { githubAnnotations, renderJunit, type SuiteResult } from './junit.ts';
import type { Counterexample } from './explore.ts';
import type { PctOptions } from './pct.ts';
import { replaySaved, savedFixtures, type Regression } from './regress.ts';
import { fromRecord, inShard, jobsOf, type JobRecord, type Shard } from './shard.ts';
import { loadable, poolSize, regressInPool, runJobs, usesWorkers } from './job.ts';
import { timing, WorkerPool, type JobSpec, type Strategy } from './workers.ts';

export type { Io } from './io.ts';
import type { Io } from './io.ts';

export interface CheckOptions {
  policies: { policy: Policy<unknown>; file?: string }[];
  configs: CheckConfig[];
  seed: number;
  runs: number;
  promise: InvariantName[];
  json?: string;
  fixturesDir: string;
  quiet: boolean;
  /** the known findings' hit-rate baseline to compare with (a missing
   *  file: no comparison; harness/drift.ts) */
  rates?: string;
  /** write the baseline from this run's hits instead (--write-rates) */
  writeRates?: string;
}

/** Build the fixture of a counterexample and its trace text. */
export function fixtureOf(
  policy: Policy<unknown>,
  file: string | undefined,
  cfg: CheckConfig,
  promise: string[],
  cx: NonNullable<ExploreResult['counterexample']>,
): { fixture: Fixture; trace: string } {
  const rec = new TraceRecorder();
  const tolerate = knownObservations(policy);
  tolerate.delete(cx.invariant);
  runCommands(policy, cfg, cx.commands, { recorder: rec, promise: promise.filter(isInvariant), tolerate });
  const trace = renderText(rec.events, cfg.cpus);
  const fixture: Fixture = {
    format: FIXTURE_FORMAT,
    version: FIXTURE_VERSION,
    policy: policy.name,
    ...(file ? { policyFile: file } : {}),
    // allocspec's sources only: a user's edit of their own policy file is
    // not a stale spec (the trace digest shows that the run changed)
    specHash: specHash(),
    config: cfg,
    promise,
    seed: cx.seed,
    path: cx.path,
    commands: cx.commands,
    expect: { verdict: 'violates', invariant: cx.invariant, message: cx.message, ...(cx.finding ? { finding: cx.finding } : {}) },
    traceDigest: sha256(trace),
  };
  return { fixture, trace };
}

/** One policy's exploration, configuration by configuration, up to and
 *  including the first one that found a counterexample. */
export interface PolicyRun {
  policy: Policy<unknown>;
  file?: string;
  results: ExploreResult[];
  /** fault kinds of the configurations explored, in order */
  faults: Set<FaultKind>;
}

export interface SavedFixture {
  path: string;
  trace: string;
}

/** Write the fixture of a counterexample (atomically) and return its path
 *  and trace text. */
export function saveFixture(
  o: Pick<CheckOptions, 'promise' | 'fixturesDir'>,
  policy: Policy<unknown>,
  file: string | undefined,
  cfg: CheckConfig,
  cx: NonNullable<ExploreResult['counterexample']>,
): SavedFixture {
  const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
  const { fixture, trace } = fixtureOf(policy, file, cfg, promise, cx);
  return { path: writeFixture(o.fixturesDir, fixture), trace };
}

export function progressLine(label: string, r: ExploreResult): string {
  return `${label}: ${r.runs} runs, ${r.steps} steps${r.counterexample ? `, ${r.counterexample.invariant} violated` : ''}\n`;
}

/** Reports of explored policies: save and print each counterexample, print
 *  the table, write the JSON (harness/workers.ts runs the explorations in
 *  worker threads and ends here too). */
export function reportCheck(
  o: CheckOptions,
  io: Io,
  runs: PolicyRun[],
  t0: number,
  /** fixtures already written as their jobs finished, by policy and config */
  saved: Map<string, SavedFixture> = new Map(),
): { report: CheckReport; exit: number } {
  const reports: PolicyReport[] = [];
  let violated = false;
  for (const { policy, file, results, faults } of runs) {
    const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
    const rep = policyReport(policy.name, !!policy.bug, checkedInvariants(promise, policy), results, expectedSituations(situationTexts(policy), [...faults] as never));
    const hits = results.filter((r) => r.counterexample);
    const hit = hits[0];
    if (hit) {
      violated = true;
      const cfg = o.configs.find((c) => c.name === hit.config)!;
      // save first: nothing printed below can lose the counterexample
      const { path, trace } = saved.get(`${policy.name}|${cfg.name}`) ?? saveFixture(o, policy, file, cfg, hit.counterexample!);
      rep.counterexample!.fixture = shownPath(path);
      rep.counterexample!.replay = replayCommand(path);
      io.out(`\n${policy.name}: ${hit.counterexample!.invariant} violated (config ${cfg.name}, seed ${hit.counterexample!.seed}, path ${hit.counterexample!.path})\n`);
      io.out(`  saved: ${shownPath(path)}\n  replay: ${replayCommand(path)}\n\n`);
      io.out(trace);
      // every configuration's counterexample is on disk; the first is shown
      for (const r of hits.slice(1)) {
        const c = o.configs.find((x) => x.name === r.config)!;
        const s = saved.get(`${policy.name}|${c.name}`) ?? saveFixture(o, policy, file, c, r.counterexample!);
        io.out(`${policy.name}: ${r.counterexample!.invariant} also violated in config ${c.name}: ${shownPath(s.path)}\n`);
      }
    }
    // known findings of the modelled source: saved, one line each
    for (const k of rep.known) {
      const r = results.find((q) => q.config === k.config)!;
      const cx = r.known.find((c) => knownKey(c) === knownKey(k))!;
      const cfg = o.configs.find((c) => c.name === k.config)!;
      const { path } = saved.get(`${policy.name}|${cfg.name}|${knownKey(k)}`) ?? saveFixture(o, policy, file, cfg, cx);
      k.fixture = shownPath(path);
      k.replay = replayCommand(path);
      // a green run: the known finding in one line, and how to see it
      const f = policy.findings;
      io.out(`${policy.name}: known finding ${k.finding ? `${k.finding} (${k.invariant})` : k.invariant} in ${k.runs} run(s)${f ? ` (${f.doc})` : ''}; trace: ${replayCommand(path)}\n`);
    }
    reports.push(rep);
  }
  const secs = (performance.now() - t0) / 1000;
  const steps = reports.reduce((a, r) => a + r.steps, 0);
  // each known finding's hits per job, against the committed baseline
  const hits: JobHits[] = runs.filter(({ policy }) => policy.findings).flatMap(({ policy, results }) => results.map((r) => ({ policy: policy.name, config: r.config, runs: r.runs, findingHits: r.findingHits ?? {} })));
  const settings = { seed: o.seed, runs: o.runs };
  const rates = compareRates(hits, o.rates && !o.writeRates ? readRates(o.rates) : null, settings, o.rates ? shownPath(o.rates) : null);
  const report: CheckReport = { version: 1, seed: o.seed, stepsPerSecond: Math.round(steps / Math.max(secs, 1e-9)), elapsedSeconds: Number(secs.toFixed(2)), policies: reports, ...(rates.rows.length ? { rates } : {}) };
  io.out('\n' + renderTable(reports));
  const rateText = renderRates(rates);
  if (rateText) io.out('\n' + rateText);
  if (o.writeRates) {
    if (violated) io.err(`--write-rates: not written: a violation was found (a baseline is taken from a clean check)\n`);
    else {
      writeRates(o.writeRates, hits, settings);
      io.out(`known-finding hit rates written to ${shownPath(o.writeRates)} (seed ${settings.seed}, ${settings.runs} runs per job)\n`);
    }
  }
  // with the baseline's own seed and budget the rates are exact: a drift fails
  if (rates.exact && rates.rows.some((x) => x.drift)) violated = true;
  io.out(`\n${steps} steps in ${secs.toFixed(1)} s (${report.stepsPerSecond} steps/s)\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
  return { report, exit: violated ? 1 : 0 };
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
    ...(f ? { findings: { invariants: knownInvariants(policy), known: `${f.why} (${f.doc})` } } : {}),
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
    // each known finding's hit rate against the baseline (harness/drift.ts)
    const rates = res.report.rates;
    for (const x of rates?.rows.filter((y) => y.policy === policy.name) ?? []) {
      const text = `${x.finding}: ${x.hits} of ${x.runs} runs${x.baseline ? `; baseline ${x.baseline.hits} of ${x.baseline.runs}${x.drift ? `: hit-rate drift ${x.drift === 'up' ? 'above' : 'below'} the baseline beyond ${rates!.factor}x` : ''}` : '; no baseline'}`;
      const name = `known finding ${x.finding}: hit rate`;
      if (x.drift && rates!.exact) cases.push({ invariant: name, config: x.config, failure: { message: text, trace: '', fixture: rates!.baseline ?? '', replay: REFRESH_RATES } });
      else cases.push({ invariant: name, config: x.config, known: x.drift ? `DRIFT ${text}` : text });
    }
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
        const kc = records.find((r) => r.policy === rep.policy && r.config === k.config)?.known.find((c) => knownKey(c) === knownKey(k));
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
