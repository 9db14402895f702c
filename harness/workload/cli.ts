// allocspec workload: parse the flags, run each (use case, policy) pair
// (in child processes when several cores are there to use: each run is
// deterministic on its own, so the numbers do not depend on how many run
// at once), print the tables, write --json and --html.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Io } from '../check.ts';
import { meanPrefix, parseFlags, PolicyError, UsageError } from '../errors.ts';
import { ROOT, userPath } from '../paths.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import { CONSTANTS, DEFAULT_CPUS, DEFAULT_SCALE, DEFAULT_SECONDS, type ConstantName, type Constants } from './constants.ts';
import { htmlPage } from './chart.ts';
import { table, toJson, type Settings, type UseCaseReport } from './report.ts';
import { runWorkload, type RunResult } from './run.ts';
import { isUseCase, USE_CASES, useCaseProblem, type UseCaseName } from './usecases.ts';

/** The five flavours of seed 001's thread, in its order. */
export const FLAVOURS = ['kmalloc-call-rcu', 'bpf-ma', 'reuse-after-rcu-gp', 'free-after-rcu-gp', 'bpf-ma-after-call-rcu'] as const;

export const WORKLOAD_HELP = `usage: allocspec workload [options]
  --use-case NAME    ${USE_CASES.join(' | ')}
                     (repeatable; default: all four)
  --policy NAME|FILE a policy (repeatable; default: the five flavours of seed 001's thread:
                     ${FLAVOURS.join(', ')})
  --cpus N           CPUs, one producer thread each (default ${DEFAULT_CPUS}, the benchmark's -p${DEFAULT_CPUS})
  --seconds S        modelled seconds of each run (default ${DEFAULT_SECONDS})
  --scale N          CPU time dilation: each CPU does N times fewer operations per grace
                     period, and memory waiting for time is counted N times (default ${DEFAULT_SCALE};
                     docs/workload.md)
  --set NAME=VALUE   override a modelled constant (repeatable; docs/workload.md lists them)
  --json FILE        write the results as JSON (- for stdout; the tables then go to stderr):
                     { useCase, settings, results: [{ policy, avgMiB, peakMiB, ... }] }, an
                     array of them for several use cases
  --html FILE        write memory over time, a line chart per use case
  --jobs N           runs at once, in child processes (default: the number of cores)
  -h, --help         this text
exit: 0 done
      2 bad usage, an unknown use case or policy, a policy error (one line on stderr)`;

function positiveInt(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name}: expected an integer, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name}: must be between ${min} and ${max}, got ${n}`);
  return n;
}

function seconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d*\.?\d+$/.test(v) || !(n > 0 && n <= 60)) throw new UsageError(`--seconds: expected modelled seconds above 0 and at most 60, got '${v}'`);
  return n;
}

function sets(vs: readonly string[]): Partial<Constants> {
  const out: Partial<Constants> = {};
  for (const s of vs) {
    const m = /^([A-Za-z]+)=(\d*\.?\d+)$/.exec(s);
    if (!m) throw new UsageError(`--set: expected NAME=NUMBER, got '${s}'`);
    const name = m[1]!;
    if (!(name in CONSTANTS)) throw new UsageError(`--set: unknown constant '${name}' (${meanPrefix(name, Object.keys(CONSTANTS))}known: ${Object.keys(CONSTANTS).join(', ')})`);
    const c = CONSTANTS[name as ConstantName];
    const v = Number(m[2]);
    if (!(v > 0) || (c.unit !== 'ns' && !Number.isInteger(v))) throw new UsageError(`--set: ${name} must be a positive ${c.unit === 'ns' ? 'number' : 'integer'}, got '${m[2]}'`);
    out[name as ConstantName] = v;
  }
  return out;
}

interface Job {
  useCase: UseCaseName;
  policy: Policy<unknown>;
  /** the --policy argument (a built-in name or a file) */
  arg: string;
  file?: string;
}

export async function runWorkloadCli(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parseFlags('workload', args, {
    'use-case': { type: 'string', multiple: true },
    policy: { type: 'string', multiple: true },
    cpus: { type: 'string' },
    seconds: { type: 'string' },
    scale: { type: 'string' },
    set: { type: 'string', multiple: true },
    json: { type: 'string' },
    html: { type: 'string' },
    jobs: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length) throw new UsageError(`workload: unexpected argument '${positionals[0]}' (allocspec workload --help)`);
  if (v.help) return io.out(WORKLOAD_HELP + '\n'), 0;
  const useCases = (v['use-case'] ?? [...USE_CASES]).map((u) => {
    if (!isUseCase(u)) throw new UsageError(`workload: unknown use case '${u}' (${meanPrefix(u, USE_CASES)}known: ${USE_CASES.join(', ')})`);
    return u;
  });
  const settings: Settings = {
    cpus: positiveInt('cpus', v.cpus as string | undefined, 1, 256) ?? DEFAULT_CPUS,
    seconds: seconds(v.seconds as string | undefined) ?? DEFAULT_SECONDS,
    scale: positiveInt('scale', v.scale as string | undefined, 1, 1_000_000) ?? DEFAULT_SCALE,
    set: sets((v.set as string[] | undefined) ?? []),
  };
  for (const u of useCases) {
    const p = useCaseProblem(u, settings.cpus);
    if (p) throw new UsageError(`workload: ${p}`);
  }
  const jobsMax = positiveInt('jobs', v.jobs as string | undefined, 1, 256) ?? availableParallelism();
  const { resolvePolicy } = await import('../policies.ts');
  const args2 = (v.policy as string[] | undefined) ?? [...FLAVOURS];
  const policies = await Promise.all(args2.map(async (arg) => ({ arg, ...(await resolvePolicy(arg)) })));
  const json = v.json as string | undefined;
  const human: Io = json === '-' ? { ...io, out: io.err } : io;

  const jobs: Job[] = useCases.flatMap((useCase) => policies.map((p) => ({ useCase, ...p })));
  const started = performance.now(); // shown, never decides anything
  const results = await runAll(jobs, settings, jobsMax);
  const reports: UseCaseReport[] = useCases.map((useCase) => ({ useCase, settings, results: results.filter((_, i) => jobs[i]!.useCase === useCase) }));
  for (const r of reports) human.out(table(r) + '\n\n');
  const steps = results.reduce((a, r) => a + r.steps, 0);
  human.out(`${jobs.length} run(s), ${steps >= 1e6 ? `${(steps / 1e6).toFixed(1)} M` : `${(steps / 1e3).toFixed(0)} k`} spec steps, in ${((performance.now() - started) / 1000).toFixed(1)} s (wall clock; ${Math.min(jobsMax, jobs.length)} at once)\n`);
  if (json !== undefined) {
    const text = JSON.stringify(toJson(reports), null, 1) + '\n';
    if (json === '-') io.out(text);
    else write(userPath(json), text, '--json');
  }
  if (v.html !== undefined) write(userPath(v.html as string), htmlPage(reports), '--html');
  return 0;
}

function write(file: string, text: string, flag: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new UsageError(`workload ${flag}: cannot write ${file}: ${(e as Error).message}`);
  }
}

/** Every job, in order; up to `max` at once in child processes (built-in
 *  policies), the rest here. */
async function runAll(jobs: readonly Job[], s: Settings, max: number): Promise<RunResult[]> {
  const local = (j: Job): RunResult => {
    try {
      return runWorkload({ policy: j.policy, useCase: j.useCase, cpus: s.cpus, seconds: s.seconds, scale: s.scale, constants: s.set });
    } catch (e) {
      // a WARN or a violation under load is the policy's (or the spec's)
      if (e instanceof PolicyError) throw e;
      throw new PolicyError(j.policy.name, 'workload', `(${j.useCase}) stopped`, e);
    }
  };
  if (max <= 1 || jobs.length <= 1 || jobs.some((j) => j.file)) return jobs.map(local);
  const out: RunResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await child(jobs[i]!, s);
    }
  };
  await Promise.all(Array.from({ length: Math.min(max, jobs.length) }, worker));
  return out;
}

/** One run in a child allocspec process (--jobs 1 --json -). */
function child(j: Job, s: Settings): Promise<RunResult> {
  const args = [join(ROOT, 'bin', 'allocspec.mjs'), 'workload', '--use-case', j.useCase, '--policy', j.arg, '--cpus', String(s.cpus), '--seconds', String(s.seconds), '--scale', String(s.scale), '--jobs', '1', '--json', '-'];
  for (const [k, val] of Object.entries(s.set)) args.push('--set', `${k}=${val}`);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) {
        const line = err.trim().split('\n').filter((l) => l.startsWith('allocspec:')).pop() ?? err.trim().split('\n').pop() ?? `exit ${code}`;
        reject(new PolicyError(j.policy.name, 'workload', `(${j.useCase}) failed`, line.replace(/^allocspec: /, '')));
        return;
      }
      try {
        resolve((JSON.parse(out) as UseCaseReport).results[0]!);
      } catch (e) {
        reject(new Error(`workload: a child's output is not JSON: ${(e as Error).message}`));
      }
    });
  });
}
