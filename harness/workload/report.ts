// The workload's results as a table per use case and as JSON.
import type { RunResult } from './run.ts';
import type { UseCaseName } from './usecases.ts';

export interface Settings {
  cpus: number;
  seconds: number;
  scale: number;
  /** constants overridden with --set */
  set: Record<string, number>;
}

/** One use case: { useCase, results: [{ policy, avgMiB, peakMiB, ... }] } */
export interface UseCaseReport {
  useCase: UseCaseName;
  settings: Settings;
  results: RunResult[];
}

function mib(v: number): string {
  return v < 10 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1);
}

/** The lists that held most at the peak, largest first (at most 4). */
export function topLists(atPeak: Record<string, number>): string {
  return Object.entries(atPeak)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 4)
    .map(([k, n]) => `${k} ${Math.round(n)}`)
    .join(', ');
}

export function table(r: UseCaseReport): string {
  const s = r.settings;
  const head = `${r.useCase}: ${s.cpus} CPUs, ${s.seconds} s modelled, scale ${s.scale}${Object.keys(s.set).length ? `, ${Object.entries(s.set).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`;
  const w = Math.max(6, ...r.results.map((x) => x.policy.length));
  const lines = [head, `  ${'policy'.padEnd(w)}  ${'avg MiB'.padStart(8)}  ${'peak MiB'.padStart(8)}  ${'loop k/s'.padStart(8)}  ${'slab/alloc'.padStart(10)}  objects per list at the peak`];
  for (const x of r.results) {
    const fails = x.allocFailures ? `  (${x.allocFailures} updates failed: -ENOMEM)` : '';
    lines.push(`  ${x.policy.padEnd(w)}  ${mib(x.avgMiB).padStart(8)}  ${mib(x.peakMiB).padStart(8)}  ${x.loopsK.toFixed(1).padStart(8)}  ${x.slabPerAlloc.toFixed(3).padStart(10)}  ${topLists(x.atPeak)}${fails}`);
  }
  return lines.join('\n');
}

/** What --json writes: one use case as its object, several as an array. */
export function toJson(rs: readonly UseCaseReport[]): unknown {
  return rs.length === 1 ? rs[0] : rs;
}
