// Hit-rate drift of known findings. A known finding excuses only what its
// signature matches, but a regression that matches it (the same leak, far
// more often) would still read green; so the check counts each finding's
// hits per job and compares the rate with a committed baseline
// (known-rates.json, refreshed by `npm run check -- --write-rates`). A rate
// more than DRIFT_FACTOR times above or below the baseline's is flagged in
// the table, the JSON report and JUnit; with the baseline's own seed and
// budget (same seed, same result: the rates are exact) it also fails the
// check. Plain data in and out, so the reporting around it can move.
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from './errors.ts';

export const DRIFT_FACTOR = 3;
export const RATES_FORMAT = 'allocspec-known-rates';
/** the command that refreshes the committed baseline (README, docs) */
export const REFRESH_RATES = 'npm run check -- --write-rates';

/** known-rates.json: per policy, configuration and known finding, the runs
 *  that ended at it out of the runs explored, under one seed and budget. */
export interface RatesFile {
  format: typeof RATES_FORMAT;
  version: 1;
  /** how it was made, and how to make it again */
  refresh: string;
  seed: number;
  /** runs per policy and configuration */
  runs: number;
  factor: number;
  policies: Record<string, Record<string, { runs: number; hits: Record<string, number> }>>;
}

/** One job's known-finding hits: what the check measured. */
export interface JobHits {
  policy: string;
  config: string;
  runs: number;
  findingHits: Record<string, number>;
}

export interface RateRow {
  policy: string;
  config: string;
  finding: string;
  hits: number;
  runs: number;
  /** the baseline's hits and runs for it (null: none recorded) */
  baseline: { hits: number; runs: number } | null;
  /** (hits + 1) / (hits the baseline's rate expects in these runs + 1) */
  ratio: number | null;
  /** beyond the factor: above or below the baseline */
  drift: 'up' | 'down' | null;
}

export interface RateReport {
  /** the baseline file compared with, or null */
  baseline: string | null;
  /** the run has the baseline's seed and budget: a drift fails the check */
  exact: boolean;
  factor: number;
  rows: RateRow[];
}

export function readRates(path: string): RatesFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  let o: RatesFile;
  try {
    o = JSON.parse(text) as RatesFile;
  } catch (e) {
    throw new UsageError(`${path}: not JSON (${(e as Error).message})`);
  }
  if (o.format !== RATES_FORMAT || o.version !== 1 || typeof o.policies !== 'object') throw new UsageError(`${path}: not a known-rates file (expected format '${RATES_FORMAT}', version 1)`);
  return o;
}

/** Compare each job's hits with the baseline. Add-one smoothing keeps a
 *  single hit against none from reading as infinite drift. */
export function compareRates(jobs: readonly JobHits[], base: RatesFile | null, settings: { seed: number; runs: number }, file: string | null): RateReport {
  const factor = base?.factor ?? DRIFT_FACTOR;
  const rows: RateRow[] = [];
  for (const j of jobs) {
    const b = base?.policies[j.policy]?.[j.config];
    const names = new Set([...Object.keys(j.findingHits), ...Object.keys(b?.hits ?? {})]);
    for (const finding of [...names].sort()) {
      const hits = j.findingHits[finding] ?? 0;
      const bl = b ? { hits: b.hits[finding] ?? 0, runs: b.runs } : null;
      const ratio = bl && bl.runs > 0 ? (hits + 1) / ((bl.hits / bl.runs) * j.runs + 1) : null;
      const drift = ratio === null ? null : ratio > factor ? 'up' : ratio < 1 / factor ? 'down' : null;
      rows.push({ policy: j.policy, config: j.config, finding, hits, runs: j.runs, baseline: bl, ratio: ratio === null ? null : Number(ratio.toFixed(3)), drift });
    }
  }
  return { baseline: base ? file : null, exact: !!base && base.seed === settings.seed && base.runs === settings.runs, factor, rows };
}

/** The table's lines: every finding's rate, drifting ones flagged. */
export function renderRates(r: RateReport): string {
  if (!r.rows.length) return '';
  const pct = (h: number, n: number): string => (n ? `${((100 * h) / n).toFixed(2)}%` : '-');
  const out = [`known findings' hit rates (runs ending at each; baseline ${r.baseline ?? 'none'}${r.baseline ? `, flagged beyond ${r.factor}x${r.exact ? '' : '; other seed or budget than the baseline: flagged, not failed'}` : ''}):`];
  for (const x of r.rows) {
    const base = x.baseline ? `baseline ${x.baseline.hits}/${x.baseline.runs} (${pct(x.baseline.hits, x.baseline.runs)})` : 'no baseline';
    out.push(`  ${x.drift ? 'DRIFT' : '     '} ${x.policy} [${x.config}] ${x.finding}: ${x.hits}/${x.runs} (${pct(x.hits, x.runs)}), ${base}${x.drift ? `: ${x.drift === 'up' ? 'above' : 'below'} it by ${x.drift === 'up' ? x.ratio : Number((1 / x.ratio!).toFixed(3))}x` : ''}`);
  }
  const d = r.rows.filter((x) => x.drift).length;
  if (d) out.push(`  ${d} finding(s) drifted; if the change is meant, refresh the baseline: ${REFRESH_RATES}`);
  return out.join('\n') + '\n';
}

/** Write the baseline from a run's hits. */
export function writeRates(path: string, jobs: readonly JobHits[], settings: { seed: number; runs: number }): void {
  const policies: RatesFile['policies'] = {};
  for (const j of jobs) {
    const hits = Object.fromEntries(Object.entries(j.findingHits).sort(([a], [b]) => (a < b ? -1 : 1)));
    (policies[j.policy] ??= {})[j.config] = { runs: j.runs, hits };
  }
  const f: RatesFile = { format: RATES_FORMAT, version: 1, refresh: REFRESH_RATES, seed: settings.seed, runs: settings.runs, factor: DRIFT_FACTOR, policies };
  writeFileSync(path, JSON.stringify(f, null, 2) + '\n');
}
