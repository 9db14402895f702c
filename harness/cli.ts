// The allocspec command line: check, replay, bench. Bad usage is one line
// on stderr and exit code 2.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isInvariant, type InvariantName } from '../model/invariants.ts';
import { CORRECT_POLICIES } from '../spec/policies/index.ts';
import { type CheckOptions, type Io } from './check.ts';
import { CONFIGS, DEFAULT_PROFILE, type CheckConfig } from './config.ts';
import { PolicyError, UsageError } from './errors.ts';
import { ROOT } from './fixture.ts';
import { resolvePolicy } from './policies.ts';
import { replay } from './replay.ts';

/** Runs per (policy, configuration) when --runs is not given: sized so the
 *  default check takes about a minute on a 2-core machine. */
export const DEFAULT_RUNS = 5000;
export const DEFAULT_SEED = 1;

const USAGE = `usage: allocspec <check|replay|bench|merge> [options]
  check   explore policies and check invariants (default: every correct built-in policy)
  replay  replay saved counterexamples: allocspec replay FILE...
  bench   measure exploration throughput (writes bench/results.json)
  merge   merge the JSON reports of check --shard i/n: allocspec merge a.json b.json [--json OUT]
run 'allocspec check --help' for the options`;

const CHECK_HELP = `usage: allocspec check [options]
  --policy NAME|FILE     policy to check (repeatable; default: all correct built-ins)
  --config NAME[,NAME]   configurations (${Object.keys(CONFIGS).join(', ')}; default ${DEFAULT_PROFILE.join(',')})
  --seed N               fast-check seed of the first configuration (default ${DEFAULT_SEED})
  --runs N               runs per policy and configuration (default ${DEFAULT_RUNS})
  --json FILE            write the JSON report
  --promise INVARIANT    also check an invariant the policy does not promise (repeatable)
  --fixtures DIR         where counterexamples are saved (default counterexamples/)
  --cpus N --size N --sizes A,B --objects N --max-commands N --nesting N --step-limit N
  --percpu --preempt-rt --rcu-trace-implies-rcu-gp --no-nmi --no-faults
                         override the chosen configurations (see README)
  --quiet                no progress lines
  --workers N            worker threads for the (policy, config) jobs (default: number of cores)
  --shard I/N            run only jobs I-1 mod N (CI matrix); merge reports with 'npm run merge'
  --strategy uniform|pct fast-check generation (default) or PCT priority schedules
  --pct-depth D          PCT: d-1 priority change points per run (default 3)
  --exhaustive --depth N every command list up to N commands (BFS, state hashing)
  --max-states N         exhaustive: stop after N distinct states
  --report percpu        print seed 000's percpu bytes: all-buckets prefill vs on demand (4, 8, 128 CPUs)`;

function int(name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name}: expected an integer, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name}: must be between ${min} and ${max}`);
  return n;
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
}

export async function runCheck(args: string[], io: Io): Promise<number> {
  const { values: v } = parse(args, {
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
    help: { type: 'boolean' },
  });
  if (v.help) {
    io.out(CHECK_HELP + '\n');
    return 0;
  }
  if (v.report !== undefined) {
    if (v.report !== 'percpu') throw new UsageError(`--report: unknown report '${String(v.report)}' (known: percpu)`);
    const { percpuReport, renderPercpuReport } = await import('./percpu-report.ts');
    io.out(renderPercpuReport(percpuReport([4, 8, 128])));
    return 0;
  }
  const names = v.config ? String(v.config).split(',') : DEFAULT_PROFILE;
  const configs: CheckConfig[] = names.map((n) => {
    const c = CONFIGS[n];
    if (!c) throw new UsageError(`--config: unknown configuration '${n}' (known: ${Object.keys(CONFIGS).join(', ')})`);
    return { ...c };
  });
  for (const c of configs) {
    const set = <K extends keyof CheckConfig>(k: K, val: CheckConfig[K] | undefined): void => {
      if (val !== undefined) c[k] = val;
    };
    set('cpus', int('cpus', v.cpus as string, 1, 64));
    set('size', int('size', v.size as string, 0, 1 << 20));
    set('objects', int('objects', v.objects as string, 1, 100_000));
    set('maxCommands', int('max-commands', v['max-commands'] as string, 1, 100_000));
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
  const promise: InvariantName[] = ((v.promise as string[] | undefined) ?? []).map((p) => {
    if (!isInvariant(p)) throw new UsageError(`--promise: unknown invariant '${p}'`);
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
    fixturesDir: (v.fixtures as string | undefined) ?? join(ROOT, 'counterexamples'),
    quiet: !!v.quiet,
  };
  // issue 6: exhaustive mode, worker threads, shards, strategies (harness/workers.ts)
  if (v.exhaustive) {
    const { checkExhaustive } = await import('./exhaustive.ts');
    const depth = int('depth', v.depth as string, 0, 1000);
    if (depth === undefined) throw new UsageError('--exhaustive needs --depth N');
    return checkExhaustive(opts, io, depth, int('max-states', v['max-states'] as string, 1));
  }
  const strategy = (v.strategy as string | undefined) ?? 'uniform';
  if (strategy !== 'uniform' && strategy !== 'pct') throw new UsageError(`--strategy: unknown strategy '${strategy}' (known: uniform, pct)`);
  const { checkJobs, defaultWorkers } = await import('./workers.ts');
  const { parseShard } = await import('./shard.ts');
  const pctDepth = int('pct-depth', v['pct-depth'] as string, 1, 100);
  const { exit } = await checkJobs(opts, io, {
    workers: int('workers', v.workers as string, 1, 256) ?? defaultWorkers(),
    shard: v.shard !== undefined ? parseShard(String(v.shard)) : null,
    strategy,
    ...(pctDepth !== undefined ? { pct: { depth: pctDepth } } : {}),
  });
  return exit;
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'check':
        return await runCheck(rest, io);
      case 'replay':
        return await replay(rest, io);
      case 'merge': {
        const { merge } = await import('./merge.ts');
        return await merge(rest, io);
      }
      case 'bench': {
        const { runBench } = await import('../bench/bench.ts');
        return await runBench(rest, io);
      }
      case undefined:
      case '--help':
      case '-h':
        io.out(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'\n${USAGE}`);
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
void availableParallelism;
