// `allocspec check` reporting: save and print the first counterexample of
// each policy, print the table, write JSON. The explorations themselves run
// as jobs (harness/workers.ts), in this thread or in workers.
import { writeFileSync } from 'node:fs';
import { isInvariant, type InvariantName } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { CheckConfig } from './config.ts';
import { expectedSituations, situationTexts } from './coverage.ts';
import { runCommands, type ExploreResult } from './explore.ts';
import { knownObservations } from './shrink.ts';
import { FIXTURE_FORMAT, FIXTURE_VERSION, sha256, specHash, writeFixture, type Fixture } from './fixture.ts';
import { checkedInvariants, policyReport, renderTable, type CheckReport, type PolicyReport } from './report.ts';
import type { FaultKind } from '../spec/kernel/slab.ts';
import { renderText, TraceRecorder } from './trace.ts';
import { replayCommand, shownPath } from './paths.ts';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr is a terminal */
  tty: boolean;
}

export interface CheckOptions {
  policies: { policy: Policy<unknown>; file?: string }[];
  configs: CheckConfig[];
  seed: number;
  runs: number;
  promise: InvariantName[];
  json?: string;
  fixturesDir: string;
  quiet: boolean;
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
    expect: { verdict: 'violates', invariant: cx.invariant, message: cx.message },
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
      const cx = r.known.find((c) => c.invariant === k.invariant)!;
      const cfg = o.configs.find((c) => c.name === k.config)!;
      const { path } = saved.get(`${policy.name}|${cfg.name}|${k.invariant}`) ?? saveFixture(o, policy, file, cfg, cx);
      k.fixture = shownPath(path);
      k.replay = replayCommand(path);
      // a green run: the known finding in one line, and how to see it
      const f = policy.findings;
      io.out(`${policy.name}: known finding ${k.invariant} in ${k.runs} run(s)${f ? ` (${f.doc})` : ''}; trace: ${replayCommand(path)}\n`);
    }
    reports.push(rep);
  }
  const secs = (performance.now() - t0) / 1000;
  const steps = reports.reduce((a, r) => a + r.steps, 0);
  const report: CheckReport = { version: 1, seed: o.seed, stepsPerSecond: Math.round(steps / Math.max(secs, 1e-9)), elapsedSeconds: Number(secs.toFixed(2)), policies: reports };
  io.out('\n' + renderTable(reports));
  io.out(`\n${steps} steps in ${secs.toFixed(1)} s (${report.stepsPerSecond} steps/s)\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
  return { report, exit: violated ? 1 : 0 };
}
