// `allocspec merge` of `prove --shard I/N --json` reports: each shard
// searched the units I-1 mod N (a scenario, or the subtrees below a fixed
// prefix depth) and counted every unit; a scenario is complete only when
// every shard is there, each says its units of it are complete, and the
// units searched add up to all of them.
import { UsageError } from '../errors.ts';
import type { ProveReport, ScenarioReport } from './prove.ts';

export function isProveReport(r: unknown): r is ProveReport {
  return typeof r === 'object' && r !== null && (r as { mode?: unknown }).mode === 'prove';
}

export function mergeProve(parts: ProveReport[]): ProveReport {
  const [a] = parts as [ProveReport];
  if (!a.shard) throw new UsageError('merge: a prove report without shard data (run prove with --shard i/n --json FILE)');
  const count = Number(a.shard.split('/')[1]);
  const seen = new Set<string>();
  for (const p of parts) {
    if (!isProveReport(p) || !p.shard) throw new UsageError('merge: prove and check reports cannot be merged together');
    if (p.preemptions !== a.preemptions || p.interrupts !== a.interrupts || p.split !== a.split) throw new UsageError(`merge: shard ${p.shard} ran with other bounds (preemptions, interrupts or split differ)`);
    const names = (r: ProveReport): string => JSON.stringify(r.results.map((x) => [x.policy, x.scenarios.map((s) => s.name)]));
    if (names(p) !== names(a)) throw new UsageError(`merge: shard ${p.shard} ran other policies or scenarios`);
    if (Number(p.shard.split('/')[1]) !== count) throw new UsageError(`merge: shard ${p.shard} is not one of ${count}`);
    if (seen.has(p.shard)) throw new UsageError(`merge: shard ${p.shard} given twice`);
    seen.add(p.shard);
  }
  const missing = Array.from({ length: count }, (_, i) => `${i + 1}/${count}`).filter((s) => !seen.has(s));
  if (missing.length) throw new UsageError(`merge: missing shard(s) ${missing.join(', ')}`);
  const results = a.results.map((r, pi) => ({
    policy: r.policy,
    scenarios: r.scenarios.map((s0, si) => {
      const rows = parts.map((p) => p.results[pi]!.scenarios[si]!);
      const searched = rows.filter((s) => s.verdict !== 'skipped');
      const units = s0.units;
      if (rows.some((s) => s.units !== units)) throw new UsageError(`merge: the shards counted different units of ${r.policy} ${s0.name}`);
      const unitsSearched = rows.reduce((n, s) => n + s.unitsSearched, 0);
      const violated = searched.find((s) => s.verdict === 'violates');
      const complete = !violated && unitsSearched === units && searched.every((s) => s.complete);
      const out: ScenarioReport = {
        ...s0,
        complete,
        executions: rows.reduce((n, s) => n + s.executions, 0),
        seconds: Number(rows.reduce((n, s) => n + s.seconds, 0).toFixed(3)),
        cpuSeconds: Number(rows.reduce((n, s) => n + s.cpuSeconds, 0).toFixed(3)),
        actions: Math.max(...rows.map((s) => s.actions)),
        usedPreemptions: Math.max(...rows.map((s) => s.usedPreemptions)),
        usedInterrupts: Math.max(...rows.map((s) => s.usedInterrupts)),
        blocked: rows.reduce((n, s) => n + s.blocked, 0),
        replayed: rows.reduce((n, s) => n + s.replayed, 0),
        recorded: rows.reduce((n, s) => n + s.recorded, 0),
        verdict: violated ? 'violates' : complete ? 'holds' : 'truncated',
        known: rows.flatMap((s) => s.known),
        units,
        unitsSearched,
      };
      if (violated?.violation) out.violation = violated.violation;
      else delete out.violation;
      return out;
    }),
  }));
  return {
    version: 1,
    mode: 'prove',
    preemptions: a.preemptions,
    interrupts: a.interrupts,
    split: a.split,
    elapsedSeconds: Number(parts.reduce((n, p) => n + p.elapsedSeconds, 0).toFixed(2)),
    cpuSeconds: Number(parts.reduce((n, p) => n + p.cpuSeconds, 0).toFixed(2)),
    results,
  };
}
