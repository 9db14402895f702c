// `npm run merge -- a.json b.json ...`: put the JSON reports of
// `check --shard i/n --json` back together. The job records of all shards
// are regrouped by policy, cut after each policy's first counterexample as
// the unsharded check does, and reported through the same policyReport():
// the result equals the unsharded report apart from its timing fields.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Policy } from '../spec/policies/policy.ts';
import type { Io } from './io.ts';
import { expectedSituations } from './coverage.ts';
import { UsageError } from './errors.ts';
import { policyReport, renderTable, type CheckReport, type PolicyReport } from './report.ts';
import { replayCommand, userPath } from './paths.ts';
import { fromRecord, type JobRecord } from './shard.ts';
import { policyResults, type ShardExtra } from './check.ts';
import { compareRates, type JobHits, type RatesFile } from './drift.ts';

type ShardReport = CheckReport & ShardExtra;

export function mergeReports(parts: ShardReport[]): CheckReport {
  if (!parts.length) throw new UsageError('merge: give the JSON reports of check --shard i/n --json FILE');
  const [a] = parts as [ShardReport];
  const count = Number(a.shard.split('/')[1]);
  const seen = new Set<string>();
  const jobs = new Map<number, JobRecord>();
  for (const p of parts) {
    if (!p.jobs || !p.shard) throw new UsageError('merge: a report without shard data (run check with --shard i/n --json FILE)');
    if (p.seed !== a.seed || JSON.stringify(p.configs) !== JSON.stringify(a.configs) || JSON.stringify(p.meta.map((m) => m.name)) !== JSON.stringify(a.meta.map((m) => m.name))) {
      throw new UsageError(`merge: shard ${p.shard} ran a different check (seed, configurations or policies differ)`);
    }
    if (Number(p.shard.split('/')[1]) !== count) throw new UsageError(`merge: shard ${p.shard} is not one of ${count}`);
    if (seen.has(p.shard)) throw new UsageError(`merge: shard ${p.shard} given twice`);
    seen.add(p.shard);
    for (const j of p.jobs) jobs.set(j.n, j);
  }
  const missing = Array.from({ length: count }, (_, i) => `${i + 1}/${count}`).filter((s) => !seen.has(s));
  if (missing.length) throw new UsageError(`merge: missing shard(s) ${missing.join(', ')}`);
  const grouped = policyResults(a.meta.length, a.configs.length, [...jobs.values()]);
  const hits: JobHits[] = [];
  const policies: PolicyReport[] = a.meta.map((m, i) => {
    const rs = grouped[i]!;
    if (m.findings) for (const r of rs.map(fromRecord)) hits.push({ policy: m.name, config: r.config, runs: r.runs, findingHits: r.findingHits ?? {} });
    const faults = [...new Set(rs.flatMap((r) => r.faults))];
    const rep = policyReport(m.name, m.zoo, m.checked, rs.map(fromRecord), expectedSituations(m.situations, faults));
    const fixture = rs.find((r) => r.counterexample)?.counterexample?.fixture;
    if (rep.counterexample && fixture) {
      rep.counterexample.fixture = fixture;
      rep.counterexample.replay = replayCommand(fixture);
    }
    if (rep.counterexample && m.findings?.invariants.includes(rep.counterexample.invariant)) rep.counterexample.known = m.findings.known;
    for (const k of rep.known) {
      const f = rs.flatMap((r) => r.known).find((c) => c.invariant === k.invariant && c.fixture)?.fixture;
      if (f) {
        k.fixture = f;
        k.replay = `npm run replay -- ${f}`;
      }
    }
    return rep;
  });
  const steps = policies.reduce((s, r) => s + r.steps, 0);
  const secs = parts.reduce((s, p) => s + p.elapsedSeconds, 0); // machine time of all shards
  // known findings' hit rates over the whole budget, against the baseline
  // every shard compared with (its rows carry it)
  const rates = compareRates(hits, baselineOf(a), { seed: a.seed, runs: 0 }, a.rates?.baseline ?? null);
  if (a.rates) rates.exact = a.rates.exact;
  return { version: 1, seed: a.seed, stepsPerSecond: Math.round(steps / Math.max(secs, 1e-9)), elapsedSeconds: Number(secs.toFixed(2)), policies, ...(rates.rows.length ? { rates } : {}) };
}

/** The baseline a shard's rate rows were compared with, rebuilt from them. */
function baselineOf(r: CheckReport): RatesFile | null {
  if (!r.rates?.baseline) return null;
  const policies: RatesFile['policies'] = {};
  for (const x of r.rates.rows) {
    if (!x.baseline) continue;
    const c = ((policies[x.policy] ??= {})[x.config] ??= { runs: x.baseline.runs, hits: {} });
    c.hits[x.finding] = x.baseline.hits;
  }
  return { format: 'allocspec-known-rates', version: 1, refresh: '', seed: r.seed, runs: 0, factor: r.rates.factor, policies };
}

/** CLI: prints the table, writes the merged JSON (--json FILE, or stdout
 *  when not given); exit 1 if a policy violated an invariant, like check. */
export async function merge(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { json: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  const parts = parsed.positionals.map((f) => {
    try {
      return JSON.parse(readFileSync(userPath(f), 'utf8')) as ShardReport;
    } catch (e) {
      throw new UsageError(`merge: ${f}: ${(e as Error).message}`);
    }
  });
  if (parts.some((p) => (p as { mode?: unknown }).mode === 'prove')) {
    // the reports of prove --shard (harness/prove/merge.ts)
    const { mergeProve } = await import('./prove/merge.ts');
    const { proveExit, renderProveTable } = await import('./prove/prove.ts');
    const merged = mergeProve(parts as never);
    const out = JSON.stringify(merged, null, 2) + '\n';
    if (parsed.values.json && parsed.values.json !== '-') {
      try {
        writeFileSync(userPath(parsed.values.json), out);
      } catch (e) {
        throw new UsageError(`merge: --json ${parsed.values.json}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      io.out(renderProveTable(merged));
    } else io.out(out);
    return proveExit(merged);
  }
  const report = mergeReports(parts);
  const text = JSON.stringify(report, null, 2) + '\n';
  if (parsed.values.json && parsed.values.json !== '-') {
    try {
      writeFileSync(userPath(parsed.values.json), text);
    } catch (e) {
      throw new UsageError(`merge: --json ${parsed.values.json}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    io.out(renderTable(report.policies));
  } else io.out(text);
  return report.policies.some((p) => p.counterexample && !p.counterexample.known) ? 1 : 0;
}
