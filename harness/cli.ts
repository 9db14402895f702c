// The allocspec command line: check, replay, bench. Bad usage is one line
// on stderr and exit code 2.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { InvariantName } from '../model/invariants.ts';
import type { CheckOptions, Io } from './check.ts';
import { CONFIGS, DEFAULT_PROFILE, type CheckConfig } from './config.ts';
import { didYouMean, meanPrefix, nearest, parseFlags, PolicyError, UsageError } from './errors.ts';
import { MAX_COMMANDS } from './limits.ts';
import { checkCommand, checkPath, ROOT, userPath } from './paths.ts';

/** Runs per (policy, configuration) when --runs is not given: sized so the
 *  default check takes about a minute on a 2-core machine. */
export const DEFAULT_RUNS = 5000;
export const DEFAULT_SEED = 1;

/** Seconds a policy hook may run without yielding (--hook-timeout). */
export const DEFAULT_HOOK_TIMEOUT = 5;

const EXIT_CODES = `exit: 0 every invariant held (known findings of a policy's seed included)
      1 a violation (its counterexample saved and printed first)
      2 bad usage, bad input, a policy error, or a report that cannot be written
        (one line on stderr)
    130 interrupted (Ctrl-C): the runs done per job, the seed and how to go on`;

const USAGE = `usage: allocspec <check|replay|merge|bench> [options]
  check   explore policies and check invariants (default: every correct built-in policy)
  replay  replay saved counterexamples: allocspec replay FILE|DIR... [--expect]
  merge   merge the JSON reports of check --shard i/n: allocspec merge a.json b.json [--json OUT]
  bench   measure exploration throughput (writes bench/results.json)
  --version        print the version
  -h, --help       this text; 'allocspec <command> --help' lists a command's options
paths are relative to the directory you run allocspec in
${EXIT_CODES}`;

const CHECK_HELP = `usage: allocspec check [options]
  --policy NAME|FILE     policy to check (repeatable; default: all correct built-ins)
  --config NAME[,NAME]   configurations (${Object.keys(CONFIGS).join(', ')}; default ${DEFAULT_PROFILE.join(',')})
  --seed N               fast-check seed of the first configuration (default ${DEFAULT_SEED})
  --runs N               runs per policy and configuration (default ${DEFAULT_RUNS})
  --json FILE            write the JSON report (- for stdout; the table then goes to stderr)
  --junit FILE           write a JUnit XML report (one testsuite per policy, one testcase
                         per invariant and configuration, the trace in each failure)
  --promise INVARIANT    also check an invariant the policy does not promise (repeatable)
  --fixtures DIR         where counterexamples are saved (default ./counterexamples);
                         the policies' saved counterexamples there are replayed first
  --no-regress           do not replay saved counterexamples first
  --cpus N --size N --sizes A,B --objects N --max-commands N --nesting N --step-limit N
  --percpu --preempt-rt --rcu-trace-implies-rcu-gp --no-nmi --no-faults
                         override the chosen configurations (see README)
  --hook-timeout S       seconds a policy hook may run without yielding before it is
                         reported as a policy error (default ${DEFAULT_HOOK_TIMEOUT}; 0: no watchdog)
  --quiet                no progress lines
  --progress             live progress (runs done/budget, rate, ETA) on stderr even when it
                         is not a terminal (on a terminal it is on by default)
  --workers N            worker threads (default and most: number of cores); each (policy, config)
                         job's runs are cut into chunks of 250 that the workers share
  --shard I/N            run only jobs I-1 mod N (CI matrix); merge reports with 'allocspec merge'
  --strategy uniform|pct fast-check generation (default) or PCT priority schedules
  --pct-depth D          PCT: d-1 priority change points per run (default 3)
  --exhaustive --depth N every command list up to N commands (BFS, exact state keys, --workers threads)
  --max-states N         exhaustive: stop after N distinct states
  --report percpu        print seed 000's percpu bytes: all-buckets prefill vs on demand (4, 8, 128 CPUs)
  --report percpu-chunk  print seed 003's pages populated per CPU against bytes live, for a few allocation patterns
  -h, --help             this text
paths are relative to the directory you run allocspec in; GITHUB_ACTIONS=true adds
error annotations for each violation
${EXIT_CODES}`;

const MERGE_HELP = `usage: allocspec merge SHARD.json... [--json FILE]
  SHARD.json     the JSON reports of 'allocspec check --shard I/N --json SHARD.json'
  --json FILE    write the merged report (- or no --json: stdout); the table is printed
  -h, --help     this text
exit: 0 every invariant held
      1 a violation in a shard
      2 bad usage or bad input (one line on stderr)`;

const BENCH_HELP = `usage: allocspec bench [--seeds N] [--quick] [--out FILE]
  --seeds N      seeds per measurement (default 20; --quick: 5)
  --quick        a short run
  --out FILE     where the results go (default bench/results.json in the package)
  -h, --help     this text
exit: 0 done
      1 (not used by bench)
      2 bad usage (one line on stderr)`;

export function version(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function int(name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name}: expected a whole number ${range}, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name}: expected a whole number ${range}, got '${v}'`);
  return n;
}

/** --workers N: at most the machine's cores (more threads only compete for
 *  them and each holds its own heap), with one line saying so. */
function workersFlag(v: string | undefined, io: Io, cores: number): number | undefined {
  const n = int('workers', v, 1, 256);
  if (n === undefined || n <= cores) return n;
  io.err(`allocspec: --workers ${n}: this machine has ${cores} core${cores > 1 ? 's' : ''}; using ${cores}\n`);
  return cores;
}

export async function runCheck(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parseFlags('check', args, {
    policy: { type: 'string', multiple: true },
    config: { type: 'string' },
    seed: { type: 'string' },
    runs: { type: 'string' },
    json: { type: 'string' },
    promise: { type: 'string', multiple: true },
    fixtures: { type: 'string' },
    cpus: { type: 'string' },
    size: { type: 'string' },
    sizes: { type: 'string' },
    objects: { type: 'string' },
    'max-commands': { type: 'string' },
    nesting: { type: 'string' },
    'step-limit': { type: 'string' },
    percpu: { type: 'boolean' },
    'preempt-rt': { type: 'boolean' },
    'rcu-trace-implies-rcu-gp': { type: 'boolean' },
    'no-nmi': { type: 'boolean' },
    'no-faults': { type: 'boolean' },
    quiet: { type: 'boolean' },
    report: { type: 'string' },
    workers: { type: 'string' },
    shard: { type: 'string' },
    strategy: { type: 'string' },
    'pct-depth': { type: 'string' },
    exhaustive: { type: 'boolean' },
    depth: { type: 'string' },
    'max-states': { type: 'string' },
    junit: { type: 'string' },
    'hook-timeout': { type: 'string' },
    progress: { type: 'boolean' },
    'no-regress': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length) throw new UsageError(`check: unexpected argument '${positionals[0]}' (policies go with --policy; see allocspec check --help)`);
  if (v.help) {
    io.out(CHECK_HELP + '\n');
    return 0;
  }
  if (v.report !== undefined) {
    if (v.report === 'percpu-chunk') {
      const { percpuChunkReport, renderPercpuChunkReport } = await import('./percpu-chunk-report.ts');
      io.out(renderPercpuChunkReport(percpuChunkReport()));
      return 0;
    }
    if (v.report !== 'percpu') throw new UsageError(`--report: unknown report '${String(v.report)}' (${meanPrefix(String(v.report), ['percpu', 'percpu-chunk'])}known: percpu, percpu-chunk)`);
    const { percpuReport, renderPercpuReport } = await import('./percpu-report.ts');
    io.out(renderPercpuReport(percpuReport([4, 8, 128])));
    return 0;
  }
  // output paths fail now, not after the exploration (nor hang on /proc)
  for (const flag of ['json', 'junit'] as const) if (v[flag] !== undefined && v[flag] !== '-') checkPath(`--${flag}`, String(v[flag]), 'file');
  checkPath('--fixtures', (v.fixtures as string | undefined) ?? 'counterexamples', 'dir');
  const names = v.config ? String(v.config).split(',') : DEFAULT_PROFILE;
  const configs: CheckConfig[] = names.map((n) => {
    const c = CONFIGS[n];
    if (!c) throw new UsageError(`--config: unknown configuration '${n}' (${meanPrefix(n, Object.keys(CONFIGS))}known: ${Object.keys(CONFIGS).join(', ')})`);
    return { ...c };
  });
  for (const c of configs) {
    const set = <K extends keyof CheckConfig>(k: K, val: CheckConfig[K] | undefined): void => {
      if (val !== undefined) c[k] = val;
    };
    set('cpus', int('cpus', v.cpus as string, 1, 64));
    set('size', int('size', v.size as string, 0, 1 << 20));
    set('objects', int('objects', v.objects as string, 1, 100_000));
    set('maxCommands', int('max-commands', v['max-commands'] as string, 1, MAX_COMMANDS));
    set('maxTaskNesting', int('nesting', v.nesting as string, 1, 8));
    set('stepLimit', int('step-limit', v['step-limit'] as string, 100));
    if (v.sizes !== undefined) c.allocSizes = String(v.sizes).split(',').map((s) => int('sizes', s, 1, 4096)!);
    if (v.percpu) c.percpu = true;
    if (v['preempt-rt']) c.preemptRt = true;
    if (v['rcu-trace-implies-rcu-gp']) c.rcuTraceImpliesRcuGp = true;
    if (v['no-nmi']) c.nmi = false;
    if (v['no-faults']) c.faults = false;
    if (c.percpu && c.size === 0) throw new UsageError('--percpu needs a fixed --size (size 0 with percpu is invalid in bpf_mem_alloc_init)');
  }
  // the spec loads only now: --help and bad usage answer without it
  const { isInvariant, INVARIANT_NAMES } = await import('../model/invariants.ts');
  const { CORRECT_POLICIES } = await import('../spec/policies/index.ts');
  const { resolvePolicy } = await import('./policies.ts');
  const promise: InvariantName[] = ((v.promise as string[] | undefined) ?? []).map((p) => {
    if (!isInvariant(p)) throw new UsageError(`--promise: unknown invariant '${p}'${didYouMean(p, INVARIANT_NAMES)}`);
    return p;
  });
  const policies = v.policy
    ? await Promise.all((v.policy as string[]).map((p) => resolvePolicy(p)))
    : CORRECT_POLICIES.map((policy) => ({ policy }));
  const opts: CheckOptions = {
    policies,
    configs,
    seed: int('seed', v.seed as string, 0, 2 ** 31 - 1) ?? DEFAULT_SEED,
    runs: int('runs', v.runs as string, 1) ?? DEFAULT_RUNS,
    promise,
    json: v.json as string | undefined,
    fixturesDir: userPath((v.fixtures as string | undefined) ?? 'counterexamples'),
    quiet: !!v.quiet,
  };
  const hookTimeout = v['hook-timeout'] === undefined ? DEFAULT_HOOK_TIMEOUT : Number(v['hook-timeout']);
  if (!/^\d+(\.\d+)?$/.test(String(v['hook-timeout'] ?? '0')) || !(hookTimeout >= 0 && hookTimeout <= 3600)) {
    throw new UsageError(`--hook-timeout: expected seconds from 0 to 3600, got '${String(v['hook-timeout'])}'`);
  }
  // --json -: the JSON alone on stdout, everything else on stderr
  const human: Io = opts.json === '-' ? { ...io, out: io.err } : io;
  // issue 6: exhaustive mode, worker threads, shards, strategies (harness/workers.ts)
  if (v.exhaustive) {
    const { checkExhaustive } = await import('./exhaustive.ts');
    const depth = int('depth', v.depth as string, 0, 1000);
    if (depth === undefined) throw new UsageError('--exhaustive needs --depth N');
    if (opts.json === '-') throw new UsageError('--exhaustive: --json - is not supported; give a file');
    if (v.junit !== undefined || v.shard !== undefined) throw new UsageError('--exhaustive: --junit and --shard go with the random search, not with --exhaustive');
    const { defaultWorkers } = await import('./workers.ts');
    return checkExhaustive({ ...opts, ...(opts.json ? { json: userPath(opts.json) } : {}) }, io, depth, int('max-states', v['max-states'] as string, 1), {
      workers: workersFlag(v.workers as string, io, defaultWorkers()) ?? defaultWorkers(),
    });
  }
  const strategy = (v.strategy as string | undefined) ?? 'uniform';
  if (strategy !== 'uniform' && strategy !== 'pct') throw new UsageError(`--strategy: unknown strategy '${strategy}' (${meanPrefix(strategy, ['uniform', 'pct'])}known: uniform, pct)`);
  const { checkJobs, defaultWorkers } = await import('./workers.ts');
  const { parseShard } = await import('./shard.ts');
  const pctDepth = int('pct-depth', v['pct-depth'] as string, 1, 100);
  const { exit } = await checkJobs(opts, human, {
    workers: workersFlag(v.workers as string, io, defaultWorkers()) ?? defaultWorkers(),
    shard: v.shard !== undefined ? parseShard(String(v.shard)) : null,
    strategy,
    ...(pctDepth !== undefined ? { pct: { depth: pctDepth } } : {}),
    hookTimeout: hookTimeout * 1000,
    ...(v.progress ? { progress: true } : v.quiet ? { progress: false } : {}),
    ...(v.junit !== undefined ? { junit: String(v.junit) } : {}),
    regress: !v['no-regress'],
    stdout: io.out,
    interrupt: { rerun: checkCommand(args) },
  });
  return exit;
}

/** `bench` and `merge` parse their own flags; their help is here. */
function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'check':
        return await runCheck(rest, io);
      case 'replay': {
        const { replay } = await import('./replay.ts');
        return await replay(rest, io);
      }
      case 'merge': {
        if (wantsHelp(rest)) return io.out(MERGE_HELP + '\n'), 0;
        const { merge } = await import('./merge.ts');
        return await merge(rest, io);
      }
      case 'bench': {
        if (wantsHelp(rest)) return io.out(BENCH_HELP + '\n'), 0;
        const { runBench } = await import('../bench/bench.ts');
        try {
          return await runBench(rest, io);
        } catch (e) {
          // node:util parseArgs errors: bad usage, not a crash
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
            const opt = /Unknown option '([^']+)'/.exec((e as Error).message)?.[1] ?? '?';
            const near = nearest(opt, ['--seeds', '--quick', '--out']);
            throw new UsageError(`bench: unknown option '${opt}' (${near ? `did you mean ${near}? ` : ''}allocspec bench --help lists the options)`);
          }
          if (code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(`bench: ${(e as Error).message.split('\n')[0]}`);
          throw e;
        }
      }
      case '--version':
      case '-V':
        io.out(`allocspec ${version()}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
        (cmd === undefined ? io.err : io.out)(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}' (${meanPrefix(cmd, ['check', 'replay', 'merge', 'bench'])}commands: check, replay, merge, bench; allocspec --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof PolicyError) {
      io.err(`allocspec: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export function defaultIo(): Io {
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    tty: !!process.stderr.isTTY,
  };
}
