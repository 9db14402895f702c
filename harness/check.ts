// `allocspec check`: explore each policy under each configuration, save and
// print the first counterexample of each policy, print the table, write JSON.
import { writeFileSync } from 'node:fs';
import { isInvariant, type InvariantName } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { CheckConfig } from './config.ts';
import { expectedSituations } from './coverage.ts';
import { explore, runCommands, type ExploreResult } from './explore.ts';
import { FIXTURE_FORMAT, FIXTURE_VERSION, sha256, specHash, writeFixture, type Fixture } from './fixture.ts';
import { checkedInvariants, policyReport, renderTable, type CheckReport, type PolicyReport } from './report.ts';
import { Sim } from './sim.ts';
import type { FaultKind } from '../spec/kernel/slab.ts';
import { renderText, TraceRecorder } from './trace.ts';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** progress display: a live line on a terminal */
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
  runCommands(policy, cfg, cx.commands, { recorder: rec, promise: promise.filter(isInvariant) });
  const trace = renderText(rec.events, cfg.cpus);
  const fixture: Fixture = {
    format: FIXTURE_FORMAT,
    version: FIXTURE_VERSION,
    policy: policy.name,
    ...(file ? { policyFile: file } : {}),
    specHash: specHash(file ? [file] : []),
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

export function check(o: CheckOptions, io: Io): { report: CheckReport; exit: number } {
  const t0 = performance.now(); // progress and throughput display only
  const runs: PolicyRun[] = [];
  for (const { policy, file } of o.policies) {
    const results: ExploreResult[] = [];
    const faults = new Set<FaultKind>();
    for (let i = 0; i < o.configs.length; i++) {
      const cfg = o.configs[i]!;
      for (const f of new Sim(policy, cfg).faultKinds) faults.add(f);
      const label = `${policy.name} [${cfg.name}]`;
      const r = explore(policy, cfg, {
        seed: o.seed + i,
        runs: o.runs,
        promise: o.promise,
        onProgress: io.tty && !o.quiet ? (n) => io.err(`\r${label}: ${n}/${o.runs} runs`) : undefined,
      });
      results.push(r);
      if (io.tty && !o.quiet) io.err('\r\x1b[K');
      if (!o.quiet) io.err(progressLine(label, r));
      if (r.counterexample) break;
    }
    runs.push({ policy, file, results, faults });
  }
  return reportCheck(o, io, runs, t0);
}

export function progressLine(label: string, r: ExploreResult): string {
  return `${label}: ${r.runs} runs, ${r.steps} steps${r.counterexample ? `, ${r.counterexample.invariant} violated` : ''}\n`;
}

/** Reports of explored policies: save and print each counterexample, print
 *  the table, write the JSON (harness/workers.ts runs the explorations in
 *  worker threads and ends here too). */
export function reportCheck(o: CheckOptions, io: Io, runs: PolicyRun[], t0: number): { report: CheckReport; exit: number } {
  const reports: PolicyReport[] = [];
  let violated = false;
  for (const { policy, file, results, faults } of runs) {
    const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
    const rep = policyReport(policy.name, !!policy.bug, checkedInvariants(promise), results, expectedSituations(policy, [...faults] as never));
    const hit = results.find((r) => r.counterexample);
    if (hit) {
      const f = policy.findings;
      const known = f && f.invariants.includes(hit.counterexample!.invariant) ? `${f.why} (${f.doc})` : undefined;
      if (!known) violated = true;
      const cfg = o.configs.find((c) => c.name === hit.config)!;
      // save first: nothing printed below can lose the counterexample
      const { fixture, trace } = fixtureOf(policy, file, cfg, promise, hit.counterexample!);
      const path = writeFixture(o.fixturesDir, fixture);
      rep.counterexample!.fixture = path;
      rep.counterexample!.replay = `npm run replay -- ${path}`;
      if (known) rep.counterexample!.known = known;
      io.out(`\n${policy.name}: ${hit.counterexample!.invariant} violated (config ${cfg.name}, seed ${hit.counterexample!.seed}, path ${hit.counterexample!.path})\n`);
      if (known) io.out(`  known finding of the modelled source, not a failure of this check: ${known}\n`);
      io.out(`  saved: ${path}\n  replay: npm run replay -- ${path}\n\n`);
      io.out(trace);
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
