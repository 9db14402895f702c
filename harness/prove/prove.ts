// `allocspec prove`: every default scenario of each policy (or those named)
// searched to its end under a preemption bound; per scenario: complete or
// truncated, executions, the bound, time. A violation is saved as an
// ordinary fixture (written before anything is printed) that `replay`
// reproduces. Shards split the work into units (a scenario, or the subtrees
// below a fixed prefix depth) that `allocspec merge` puts back together.
import { writeFileSync } from 'node:fs';
import type { InvariantName } from '../../model/invariants.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Scenario } from '../../spec/policies/scenario.ts';
import { fixtureOf, type Io } from '../check.ts';
import { writeFixture } from '../fixture.ts';
import { MAX_COMMANDS } from '../limits.ts';
import { replayCommand, shownPath } from '../paths.ts';
import { knownFindings, knownObservations } from '../shrink.ts';
import type { Shard } from '../shard.ts';
import { scenarioConfig, scenariosOf } from './scenarios.ts';
import { search, type Found, type SearchResult } from './search.ts';

export const DEFAULT_PREEMPTIONS = 2;
export const DEFAULT_MAX_EXECUTIONS = 200_000;
/** prefix depth whose subtrees are the units of a sharded prove */
export const DEFAULT_SPLIT = 2;

export interface ProveOptions {
  policies: { policy: Policy<unknown>; file?: string }[];
  /** only these scenarios (by name); empty: all */
  scenarios: string[];
  preemptions: number;
  /** the kernel's arrivals bounded on their own (null: as preemptions) */
  interrupts: number | null;
  dpor: boolean;
  maxExecutions: number;
  promise: InvariantName[];
  fixturesDir: string;
  json?: string;
  /** where --json - goes (stdout) */
  stdout?: (s: string) => void;
  quiet: boolean;
  shard: Shard | null;
  /** prefix depth of the units (0: a scenario is one unit) */
  split: number;
}

export interface ScenarioReport {
  name: string;
  /** every unit of it searched here ran to its end, no cap reached */
  complete: boolean;
  executions: number;
  /** the preemption bound */
  preemptions: number;
  /** the bound of the kernel's arrivals (null: they count as preemptions) */
  interrupts: number | null;
  seconds: number;
  cpuSeconds: number;
  /** scenario size: programs, and the longest execution in actions */
  operations: number;
  actions: number;
  /** the most preemptions / interrupts an execution used */
  usedPreemptions: number;
  usedInterrupts: number;
  /** executions a sleep set cut short */
  blocked: number;
  /** actions fired: replayed from boot along a shared prefix, and new */
  replayed: number;
  recorded: number;
  verdict: 'holds' | 'violates' | 'truncated' | 'skipped';
  violation?: { invariant: string; message: string; fixture: string; replay: string; execution: number; seconds: number };
  known: { invariant: string; fixture: string; execution: number }[];
  /** shards: units of the scenario and how many this report searched */
  units: number;
  unitsSearched: number;
}

export interface ProveReport {
  version: 1;
  mode: 'prove';
  preemptions: number;
  interrupts: number | null;
  split: number;
  shard?: string;
  elapsedSeconds: number;
  cpuSeconds: number;
  results: { policy: string; scenarios: ScenarioReport[] }[];
}

const ops = (s: Scenario): number => s.cpus.reduce((a, l) => a + l.length, 0) + (s.nmi?.length ?? 0) + (s.teardown ? 1 : 0) + (s.offline ? 1 : 0);

/** Save a found violation as a fixture (first), with its trace. */
function save(o: ProveOptions, policy: Policy<unknown>, file: string | undefined, s: Scenario, f: Found): { path: string; trace: string } {
  const cfg = scenarioConfig(s);
  cfg.maxCommands = Math.min(MAX_COMMANDS, Math.max(cfg.maxCommands, f.commands.length));
  const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
  const { fixture, trace } = fixtureOf(policy, file, cfg, promise, { invariant: f.invariant, message: f.message, seed: 0, path: '', commands: f.commands });
  return { path: writeFixture(o.fixturesDir, fixture), trace };
}

export function renderProveTable(r: ProveReport): string {
  const rows: string[][] = [['policy', 'scenario', 'result', 'executions', 'depth (ops, preemptions)', 'seconds', 'cpu s']];
  for (const p of r.results) {
    for (const s of p.scenarios) {
      if (s.verdict === 'skipped') continue;
      const result = s.verdict === 'violates' ? `VIOLATES ${s.violation!.invariant}` : s.verdict === 'truncated' ? 'TRUNCATED' : 'complete';
      rows.push([p.policy, s.name, result + (s.known.length ? ` (known: ${s.known.map((k) => k.invariant).join(', ')})` : ''), String(s.executions), `(${s.operations}, ${s.preemptions})`, s.seconds.toFixed(2), s.cpuSeconds.toFixed(2)]);
    }
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** Exit: 0 every scenario held and is complete; 1 a violation, or a
 *  scenario truncated (not proved: a gate must not pass it). */
export function proveExit(r: ProveReport): number {
  return r.results.some((p) => p.scenarios.some((s) => s.verdict === 'violates' || s.verdict === 'truncated')) ? 1 : 0;
}

export function prove(o: ProveOptions, io: Io): { report: ProveReport; exit: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const report: ProveReport = {
    version: 1,
    mode: 'prove',
    preemptions: o.preemptions,
    interrupts: o.interrupts,
    split: o.split,
    ...(o.shard ? { shard: `${o.shard.index}/${o.shard.count}` } : {}),
    elapsedSeconds: 0,
    cpuSeconds: 0,
    results: [],
  };
  // units are numbered across the whole run, so that shards share them out
  let unitBase = 0;
  const mine = (u: number): boolean => !o.shard || u % o.shard.count === o.shard.index - 1;
  for (const { policy, file } of o.policies) {
    const all = scenariosOf(policy);
    const chosen = o.scenarios.length ? all.filter((s) => o.scenarios.includes(s.name)) : all;
    const rows: ScenarioReport[] = [];
    report.results.push({ policy: policy.name, scenarios: rows });
    const known = new Set(knownFindings(policy));
    for (const s of chosen) {
      const cfg = scenarioConfig(s);
      const row: ScenarioReport = {
        name: s.name,
        complete: false,
        executions: 0,
        preemptions: o.preemptions,
        interrupts: report.interrupts,
        seconds: 0,
        cpuSeconds: 0,
        operations: ops(s),
        actions: 0,
        usedPreemptions: 0,
        usedInterrupts: 0,
        blocked: 0,
        replayed: 0,
        recorded: 0,
        verdict: 'skipped',
        known: [],
        units: 1,
        unitsSearched: 0,
      };
      rows.push(row);
      const base = unitBase;
      let r: SearchResult;
      if (o.split === 0) {
        unitBase++;
        if (!mine(base)) continue;
        row.unitsSearched = 1;
      }
      r = search(policy, cfg, s, {
        preemptions: o.preemptions,
        interrupts: o.interrupts,
        dpor: o.dpor,
        maxExecutions: o.maxExecutions,
        promise: [...(policy.promises ?? []), ...o.promise],
        tolerate: knownObservations(policy),
        known,
        ...(o.split > 0 ? { split: { depth: o.split, mine: (u: number) => mine(base + u) } } : {}),
      });
      if (o.split > 0) {
        unitBase += r.units;
        row.units = r.units;
        row.unitsSearched = r.unitsSearched;
      }
      row.complete = r.complete;
      row.executions = r.executions;
      row.seconds = r.seconds;
      row.cpuSeconds = r.cpuSeconds;
      row.actions = r.maxActions;
      row.usedPreemptions = r.maxPreemptions;
      row.usedInterrupts = r.maxInterrupts;
      row.blocked = r.blocked;
      row.replayed = r.replayed;
      row.recorded = r.recorded;
      for (const k of r.known) {
        const { path } = save(o, policy, file, s, k);
        row.known.push({ invariant: k.invariant, fixture: shownPath(path), execution: k.execution });
        io.out(`${policy.name} ${s.name}: known finding ${k.invariant} (execution ${k.execution}); trace: ${replayCommand(path)}\n`);
      }
      if (r.violation) {
        // saved before anything is printed
        const { path, trace } = save(o, policy, file, s, r.violation);
        row.verdict = 'violates';
        row.violation = { invariant: r.violation.invariant, message: r.violation.message, fixture: shownPath(path), replay: replayCommand(path), execution: r.violation.execution, seconds: r.violation.seconds };
        io.out(`\n${policy.name}: ${r.violation.invariant} violated in scenario ${s.name} (execution ${r.violation.execution}, ${r.violation.seconds} s, ${r.violation.commands.length} commands)\n`);
        io.out(`  saved: ${shownPath(path)}\n  replay: ${replayCommand(path)}\n\n`);
        io.out(trace);
      } else row.verdict = r.complete ? 'holds' : 'truncated';
      if (!o.quiet) {
        io.err(`${policy.name} ${s.name}: ${row.verdict === 'holds' ? 'complete' : row.verdict}, ${r.executions} executions (${r.blocked} cut by sleep sets), preemptions <= ${o.preemptions}, ${r.seconds.toFixed(2)} s (cpu ${r.cpuSeconds.toFixed(2)} s)${o.split > 0 ? `, units ${r.unitsSearched}/${r.units}` : ''}\n`);
      }
    }
  }
  report.elapsedSeconds = Number(((performance.now() - t0) / 1000).toFixed(2));
  const cu = process.cpuUsage(c0);
  report.cpuSeconds = Number(((cu.user + cu.system) / 1e6).toFixed(2));
  io.out('\n' + renderProveTable(report));
  const truncated = report.results.flatMap((p) => p.scenarios.filter((s) => s.verdict === 'truncated').map((s) => `${p.policy} ${s.name}`));
  if (truncated.length) io.out(`\nnot proved (the --max-executions cap of ${o.maxExecutions} was reached): ${truncated.join(', ')}\n`);
  io.out(`${report.elapsedSeconds} s (cpu ${report.cpuSeconds} s)\n`);
  if (o.json) {
    const text = JSON.stringify(report, null, 2) + '\n';
    if (o.json === '-') (o.stdout ?? io.out)(text);
    else writeFileSync(o.json, text);
  }
  return { report, exit: proveExit(report) };
}
