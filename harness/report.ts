// The check report: per policy, each invariant held or violated, runs,
// steps, the share of commands that did something, distinct states, and
// coverage of the situations that matter. Text table and JSON.
import { CORE_INVARIANTS, type InvariantName } from '../model/invariants.ts';
import { knownKey } from './findings.ts';
import type { RateReport } from './drift.ts';
import type { ExploreResult } from './explore.ts';

/** held: checked through every run of the budget, never violated;
 *  violated: a counterexample that is not a known finding;
 *  known: a declared known finding of the modelled source was hit;
 *  partial: never violated, but some runs of the budget did not reach
 *  their end (they stopped at a known finding, or the job stopped at a
 *  violation before the budget was spent): see `checked` */
export type Verdict = 'held' | 'violated' | 'known' | 'partial';

/** How far one invariant was checked, summed over the configurations. */
export interface Checked {
  /** runs that reached their end with no violation (checked throughout) */
  runsToEnd: number;
  /** runs explored */
  runs: number;
  /** runs asked for */
  budget: number;
  /** runs that ended at this invariant as a known finding */
  knownHits?: number;
}

export interface PolicyReport {
  policy: string;
  configs: string[];
  /** true for bug-zoo variants: a violation is the expected outcome */
  zoo: boolean;
  invariants: Record<string, Verdict>;
  /** per invariant: runs it was checked through, of the budget */
  checked: Record<string, Checked>;
  runs: number;
  steps: number;
  effectiveCommandRatio: number;
  distinctStates: number;
  /** situation -> times reached (0 = never reached: a blind spot) */
  coverage: Record<string, number>;
  counterexample: null | {
    invariant: string;
    message: string;
    length: number;
    config: string;
    seed: number;
    path: string;
    fixture?: string;
    replay?: string;
    /** the policy declares this violation a known finding of its seed */
    known?: string;
  };
  /** known findings hit: the first of each finding, shrunk and saved;
   *  runs: the runs that ended at it in every configuration */
  known: { invariant: string; finding?: string; message: string; length: number; config: string; runs: number; fixture?: string; replay?: string }[];
}

export interface CheckReport {
  version: 1;
  seed: number;
  stepsPerSecond: number;
  elapsedSeconds: number;
  policies: PolicyReport[];
  /** each known finding's hits per job against the baseline (harness/drift.ts) */
  rates?: RateReport;
}

export function policyReport(
  policy: string,
  zoo: boolean,
  checked: readonly InvariantName[],
  results: ExploreResult[],
  expected: Record<string, string>,
): PolicyReport {
  const cx = results.find((r) => r.counterexample)?.counterexample ?? null;
  const cxCfg = results.find((r) => r.counterexample)?.config ?? '';
  const invariants: Record<string, Verdict> = {};
  const checkedBy: Record<string, Checked> = {};
  const broken = new Set(results.map((r) => r.counterexample?.invariant));
  const sum = (f: (r: ExploreResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const runsToEnd = sum((r) => r.runsToEnd);
  const runs = sum((r) => r.runs);
  const budget = sum((r) => r.budget);
  for (const inv of checked) {
    const hits = sum((r) => r.knownHits[inv] ?? 0);
    invariants[inv] = broken.has(inv) ? 'violated' : hits > 0 ? 'known' : runsToEnd === budget ? 'held' : 'partial';
    checkedBy[inv] = { runsToEnd, runs, budget, ...(hits ? { knownHits: hits } : {}) };
  }
  const known: PolicyReport['known'] = [];
  for (const r of results) {
    for (const k of r.known) {
      const key = knownKey(k);
      const hits = (q: ExploreResult): number => (k.finding ? (q.findingHits?.[k.finding] ?? 0) : (q.knownHits[k.invariant] ?? 0));
      if (!known.some((x) => knownKey(x) === key)) known.push({ invariant: k.invariant, ...(k.finding ? { finding: k.finding } : {}), message: k.message, length: k.commands.length, config: r.config, runs: sum(hits) });
    }
  }
  const coverage: Record<string, number> = {};
  for (const name of Object.keys(expected)) coverage[name] = 0;
  for (const r of results) for (const [name, n] of r.situations) coverage[name] = (coverage[name] ?? 0) + n;
  const commands = results.reduce((a, r) => a + r.commands, 0);
  const states = new Set<number>();
  for (const r of results) for (const s of r.states) states.add(s);
  return {
    policy,
    configs: results.map((r) => r.config),
    zoo,
    invariants,
    checked: checkedBy,
    known,
    runs: results.reduce((a, r) => a + r.runs, 0),
    steps: results.reduce((a, r) => a + r.steps, 0),
    effectiveCommandRatio: commands ? results.reduce((a, r) => a + r.effective, 0) / commands : 0,
    distinctStates: states.size,
    coverage,
    counterexample: cx && { invariant: cx.invariant, message: cx.message, length: cx.commands.length, config: cxCfg, seed: cx.seed, path: cx.path },
  };
}

export function checkedInvariants(promises: readonly InvariantName[], policy?: { readonly freeRcu?: unknown }): InvariantName[] {
  // a policy with bpf_mem_free_rcu() has its objects judged for
  // NoReuseBeforeGracePeriod whatever it promises (model/allocator.ts)
  const all = policy?.freeRcu && !promises.includes('NoReuseBeforeGracePeriod') ? [...promises, 'NoReuseBeforeGracePeriod' as const] : promises;
  return [...CORE_INVARIANTS, ...all.filter((p) => !CORE_INVARIANTS.includes(p))];
}

const CELL: Record<Verdict, string> = { held: 'ok', violated: '✗', known: 'K', partial: '~' };

/** Policy x invariant table, then per-policy totals and coverage gaps. */
export function renderTable(reports: PolicyReport[]): string {
  const names = [...new Set(reports.flatMap((r) => Object.keys(r.invariants)))];
  const w0 = Math.max(6, ...reports.map((r) => r.policy.length));
  const out: string[] = [];
  out.push(['policy'.padEnd(w0), ...names.map((_, i) => `I${i + 1}`.padStart(3))].join(' '));
  for (const r of reports) {
    const cells = names.map((n) => {
      const v = r.invariants[n];
      return (v === undefined ? '-' : CELL[v]).padStart(3);
    });
    const note = r.counterexample?.known ? `   known finding: ${r.counterexample.known}` : r.zoo && r.counterexample ? '   (bug zoo: expected)' : '';
    out.push([r.policy.padEnd(w0), ...cells].join(' ') + note);
  }
  out.push('');
  out.push('  ok held through every run of the budget; ✗ violated; K known finding of the modelled source; ~ held in the runs that reached their end (see below)');
  names.forEach((n, i) => out.push(`  I${i + 1} = ${n}`));
  const partial = reports.filter((r) => Object.values(r.invariants).includes('partial'));
  if (partial.length) {
    out.push('');
    for (const r of partial) {
      const c = Object.values(r.checked)[0]!;
      out.push(`  ~ ${r.policy}: checked through ${c.runsToEnd} of ${c.budget} runs (${c.runs - c.runsToEnd} ended at a known finding or a violation${c.budget > c.runs ? `, ${c.budget - c.runs} not run after the violation stopped the job` : ''})`);
    }
  }
  out.push('');
  out.push(`${'policy'.padEnd(w0)}  ${'runs'.padStart(7)} ${'steps'.padStart(10)} ${'states'.padStart(8)} effective`);
  for (const r of reports) {
    out.push(
      `${r.policy.padEnd(w0)}  ${String(r.runs).padStart(7)} ${String(r.steps).padStart(10)} ${String(r.distinctStates).padStart(8)} ${r.effectiveCommandRatio.toFixed(3)}`,
    );
  }
  const gaps = reports.flatMap((r) => Object.entries(r.coverage).filter(([, n]) => n === 0).map(([s]) => `${r.policy}: ${s}`));
  out.push('');
  if (gaps.length) {
    out.push('never reached (blind spots of this run):');
    for (const g of gaps) out.push(`  ${g}`);
  } else out.push('coverage: every listed situation was reached');
  return out.join('\n') + '\n';
}
