// A no-behaviour-change check for refactors of the engine and the harness
// (issue 19, must-show 1). Prints, per policy and configuration, digests of
// 80 seeded runs (30 uniform, 30 swarm, 20 PCT command lists, generated the
// same way every time) and, per policy, the exhaustive mode's state and
// transition counts at depth 4:
//
//   npx tsx bench/trace-digest.ts [--out FILE] [--compare FILE] [--policy NAME]... [--config NAME]... [--runs N] [--depth D] [--no-exhaustive]
//
// Columns: `verdicts` (how the runs ended, counted), `behaviour` (a hash of
// each run's verdict, the commands as they ran, the steps taken and the
// distinct state fingerprints: changes only when behaviour does), `trace`
// (a hash of each run's rendered trace and violation text: also changes when
// a label or a message does), `situations` (the coverage counts, from the
// untraced run, as exploration counts them).
// With --compare, every line that differs from FILE is printed and the exit
// code is 1 when a verdict or behaviour hash differs.
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { POLICIES } from '../spec/policies/index.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { cmdArbitrary, swarmArbitrary, swarmCmdArbitrary, type Cmd } from '../harness/commands.ts';
import { CONFIGS, type CheckConfig } from '../harness/config.ts';
import { exhaustive } from '../harness/exhaustive.ts';
import { pctCommands } from '../harness/pct.ts';
import { runCommands } from '../harness/shrink.ts';
import { genCtx } from '../harness/sim.ts';
import { renderText, TraceRecorder } from '../harness/trace.ts';

const SEED = 19;
const CONFIG_NAMES = ['fixed', 'percpu', 'buckets', 'rt', 'wide'];
const EXHAUSTIVE_POLICIES = ['bpf-ma', 'bpf-ma-upstream', 'reuse-after-rcu-gp', 'slub-pca', 'percpu-chunk'];

/** The command lists of one policy and configuration: deterministic. */
export function digestLists(policy: Policy<unknown>, cfg: CheckConfig, runs: number): Cmd[][] {
  const g = genCtx(policy, cfg);
  const nu = Math.round(runs * 0.375);
  const ns = Math.round(runs * 0.375);
  const np = runs - nu - ns;
  const arr = (a: fc.Arbitrary<Cmd>): fc.Arbitrary<Cmd[]> => fc.array(a, { maxLength: cfg.maxCommands, size: 'max' });
  const uniform = nu ? fc.sample(arr(cmdArbitrary(g)), { seed: SEED, numRuns: nu }) : [];
  const swarm = ns ? fc.sample(swarmArbitrary(g).chain((sw) => arr(swarmCmdArbitrary(g, sw))), { seed: SEED + 1, numRuns: ns }) : [];
  const pct = Array.from({ length: np }, (_, i) => pctCommands(g, SEED, i, 3 + (i % 3)));
  return [...uniform, ...swarm, ...pct];
}

const h = (): ReturnType<typeof createHash> => createHash('sha256');
const short = (x: ReturnType<typeof createHash>): string => x.digest('hex').slice(0, 16);

export interface DigestLine {
  policy: string;
  config: string;
  verdicts: string;
  behaviour: string;
  trace: string;
  situations: string;
}

export function digest(policy: Policy<unknown>, cfg: CheckConfig, runs: number): DigestLine {
  const verdicts = new Map<string, number>();
  const behaviour = h();
  const trace = h();
  const situations = new Map<string, number>();
  for (const cmds of digestLists(policy, cfg, runs)) {
    // coverage and states as exploration counts them (no tracer), then the
    // same run traced
    const states = new Set<number>();
    const r = runCommands(policy, cfg, cmds, { situations, states });
    const rec = new TraceRecorder();
    runCommands(policy, cfg, cmds, { recorder: rec });
    const v = r.violation ? r.violation.invariant : 'clean';
    verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
    behaviour.update(`${v}|${r.executed}|${JSON.stringify(r.effective)}|${r.sim ? r.sim.k.steps : 0}|${states.size}\n`);
    trace.update(renderText(rec.events, cfg.cpus));
    trace.update(`${r.violation?.detail ?? ''}\n`);
  }
  const sit = h();
  for (const [k, n] of [...situations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) sit.update(`${k}=${n}\n`);
  return {
    policy: policy.name,
    config: cfg.name,
    verdicts: [...verdicts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k}:${n}`).join(','),
    behaviour: short(behaviour),
    trace: short(trace),
    situations: short(sit),
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      compare: { type: 'string' },
      policy: { type: 'string', multiple: true },
      config: { type: 'string', multiple: true },
      runs: { type: 'string', default: '80' },
      depth: { type: 'string', default: '4' },
      'no-exhaustive': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const policies = values.policy?.length ? POLICIES.filter((p) => values.policy!.includes(p.name)) : POLICIES;
  const configs = (values.config?.length ? values.config : CONFIG_NAMES).map((n) => CONFIGS[n]!);
  const lines: string[] = [];
  const t0 = performance.now();
  for (const p of policies) {
    for (const cfg of configs) {
      const d = digest(p, cfg, runs);
      const line = `run ${d.policy} ${d.config} verdicts=${d.verdicts} behaviour=${d.behaviour} trace=${d.trace} situations=${d.situations}`;
      lines.push(line);
      console.log(line);
    }
  }
  const depth = Number(values.depth);
  if (!values['no-exhaustive']) {
    for (const name of EXHAUSTIVE_POLICIES) {
      const p = policies.find((x) => x.name === name);
      if (!p) continue;
      const r = exhaustive(p, CONFIGS.fixed!, { depth });
      const line = `exhaustive ${name} fixed depth=${depth} states=${r.states} transitions=${r.transitions} skipped=${r.skipped} verdict=${r.counterexample ? r.counterexample.invariant : 'clean'}`;
      lines.push(line);
      console.log(line);
    }
  }
  console.error(`trace-digest: ${lines.length} lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (values.out) writeFileSync(values.out, lines.join('\n') + '\n');
  if (values.compare) {
    const base = new Map<string, string>();
    for (const l of readFileSync(values.compare, 'utf8').split('\n')) if (l) base.set(l.split(' ').slice(0, 3).join(' '), l);
    let behaviourChanged = 0;
    let labelsChanged = 0;
    for (const l of lines) {
      const key = l.split(' ').slice(0, 3).join(' ');
      const b = base.get(key);
      if (b === undefined || b === l) continue;
      const field = (s: string, f: string): string => s.split(' ').find((x) => x.startsWith(`${f}=`)) ?? '';
      const hard = ['verdicts', 'behaviour', 'states', 'transitions', 'verdict'].some((f) => field(b, f) !== field(l, f));
      if (hard) behaviourChanged++;
      else labelsChanged++;
      console.log(`${hard ? 'CHANGED' : 'labels '} ${key}\n   was ${b}\n   now ${l}`);
    }
    console.log(`compare: ${lines.length} lines, ${behaviourChanged} with a behaviour change, ${labelsChanged} with only a trace/situation change`);
    if (behaviourChanged) process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
