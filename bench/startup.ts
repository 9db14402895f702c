// `npm run bench`'s start-up and worker section (also on its own:
// `npm run bench:startup`): the command as a user runs it, in child
// processes, wall time (what a user waits for). A benchmark, not a test:
// nothing here asserts a time.
//
//   coldStart   median wall of `check --policy bpf-ma --config fixed --runs 1
//               --no-regress` (a temporary fixtures directory), minus the
//               median of `node -e 0` on the same machine
//   zooEndToEnd each zoo variant's check in its bug.config (default budget,
//               a temporary fixtures directory, exit 1): the median wall
//               per variant, and the median and max over the variants
//   workers     one policy, one configuration (`--policy bpf-ma --config
//               fixed --runs N`): runs/s of --workers 1 and --workers 2, and
//               the ceiling: two --workers 1 processes at once, their
//               combined runs/s over one process's; efficiency = the
//               speedup of --workers 2 over that ceiling
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../harness/paths.ts';
import { ZOO } from '../spec/policies/index.ts';

const BIN = join(ROOT, 'bin', 'allocspec.mjs');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** An environment without an outer npm run's variables (paths.ts trusts
 *  INIT_CWD only under npm) or a CI's annotations. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|INIT_CWD$|GITHUB_ACTIONS$|ALLOCSPEC_TIMING$)/i.test(k)) e[k] = v;
  return e;
}

/** Seconds of wall time of one run of node with `args`; its exit code and
 *  what it printed on stdout. */
function timed(args: string[]): { secs: number; code: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env: env(), stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
  return { secs: (performance.now() - t0) / 1000, code: r.status ?? -1, out: r.stdout };
}

/** Runs `runs` at once: each one's wall seconds and stdout. */
function together(runs: string[][]): Promise<{ secs: number; out: string }[]> {
  const t0 = performance.now();
  return Promise.all(
    runs.map(
      (args) =>
        new Promise<{ secs: number; out: string }>((resolve, reject) => {
          const c = spawn(process.execPath, args, { env: env(), stdio: ['ignore', 'pipe', 'ignore'] });
          let out = '';
          c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
          c.on('error', reject);
          c.on('close', (code) => (code === 0 ? resolve({ secs: (performance.now() - t0) / 1000, out }) : reject(new Error(`allocspec ${args.join(' ')}: exit ${code}`))));
        }),
    ),
  );
}

/** The runs and the seconds a check reports of itself (--json -: from the
 *  start of its exploration, worker threads' start included). */
function reported(out: string): { runs: number; secs: number } {
  const r = JSON.parse(out) as { elapsedSeconds: number; policies: { runs: number }[] };
  return { runs: r.policies.reduce((a, p) => a + p.runs, 0), secs: r.elapsedSeconds };
}

/** One policy, one configuration: --workers 1, --workers 2, and two
 *  --workers 1 processes at once (the ceiling). */
async function oneJob(check: (...a: string[]) => string[], runs: number, reps: number, log: (s: string) => void) {
  const job = [...check('--policy', 'bpf-ma', '--config', 'fixed', '--runs', String(runs)), '--json', '-'];
  // per repetition: wall seconds of the process, and the check's own
  // runs/s (runs over its reported seconds)
  const w1: { wall: number; rate: number }[] = [];
  const w2: { wall: number; rate: number }[] = [];
  const pair: { wall: number; rate: number }[] = [];
  const rateOf = (out: string): number => {
    const r = reported(out);
    return r.runs / r.secs;
  };
  for (let i = 0; i < reps; i++) {
    for (const [w, into] of [[1, w1], [2, w2]] as const) {
      const r = timed([...job, '--workers', String(w)]);
      if (r.code !== 0) throw new Error(`bench: allocspec check --workers ${w} exited ${r.code}`);
      into.push({ wall: r.secs, rate: rateOf(r.out) });
    }
    const both = await together([
      [...job, '--workers', '1'],
      [...job, '--workers', '1'],
    ]);
    pair.push({ wall: Math.max(...both.map((b) => b.secs)), rate: both.reduce((a, b) => a + rateOf(b.out), 0) });
  }
  const byWall = (xs: { wall: number }[], runs: number): number => Math.round(runs / median(xs.map((x) => x.wall)));
  const byRate = (xs: { rate: number }[]): number => Math.round(median(xs.map((x) => x.rate)));
  const figures = (one: number, two: number, both: number) => {
    const speedup = r3(two / one);
    const ceiling = r3(both / one);
    return { runsPerSecond: { workers1: one, workers2: two, twoProcesses: both }, speedup, ceiling, efficiency: r3(speedup / ceiling) };
  };
  const workers = {
    // the check's own runs/s (what its progress line shows)
    ...figures(byRate(w1), byRate(w2), byRate(pair)),
    wholeProcess: figures(byWall(w1, runs), byWall(w2, runs), byWall(pair, 2 * runs)),
    what: `\`allocspec check --policy bpf-ma --config fixed --runs ${runs}\`, median of ${reps}; runs/s = runs over the seconds the check reports (--json: from the start of its exploration, worker threads' start and JIT warm-up included); wholeProcess = runs over the process's wall time (node's start and the bundle's load included); ceiling = two concurrent --workers 1 processes' combined runs/s over one process's; efficiency = speedup / ceiling`,
  };
  log(`one job, ${runs} runs: --workers 1 ${workers.runsPerSecond.workers1} runs/s, --workers 2 ${workers.runsPerSecond.workers2} runs/s (${workers.speedup}x); two processes ${workers.runsPerSecond.twoProcesses} runs/s (${workers.ceiling}x); efficiency ${workers.efficiency} (whole process: ${workers.wholeProcess.speedup}x of ${workers.wholeProcess.ceiling}x, ${workers.wholeProcess.efficiency})`);
  return workers;
}

export interface StartupOptions {
  /** repetitions of each start-up measurement */
  reps: number;
  /** repetitions of each zoo variant */
  zooReps: number;
  /** runs of the one-job workers measurement */
  runs: number;
  /** repetitions of the workers measurements */
  workerReps: number;
  /** a second, longer budget for the workers measurement (one repetition) */
  longRuns?: number;
  log: (s: string) => void;
}

export function startupDefaults(quick: boolean, log: (s: string) => void): StartupOptions {
  return { reps: quick ? 5 : 11, zooReps: quick ? 1 : 3, runs: quick ? 2000 : 5000, workerReps: quick ? 1 : 3, ...(quick ? {} : { longRuns: 20000 }), log };
}

export async function startupBench(o: StartupOptions) {
  const fixtures = mkdtempSync(join(tmpdir(), 'allocspec-startup-'));
  try {
    const check = (...a: string[]): string[] => [BIN, 'check', '--fixtures', fixtures, '--quiet', '--no-regress', ...a];
    const tiny = check('--policy', 'bpf-ma', '--config', 'fixed', '--runs', '1');
    // the first run builds the bundle of the sources when it is stale
    const warm = timed(tiny);
    if (warm.code !== 0) throw new Error(`bench: allocspec check exited ${warm.code}`);
    const node: number[] = [];
    const cold: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      node.push(timed(['-e', '0']).secs);
      cold.push(timed(tiny).secs);
    }
    const coldStart = {
      seconds: r3(median(cold) - median(node)),
      checkSeconds: r3(median(cold)),
      nodeSeconds: r3(median(node)),
      what: `median wall of \`allocspec check --policy bpf-ma --config fixed --runs 1 --no-regress\` minus median \`node -e 0\`, ${o.reps} runs each`,
    };
    o.log(`cold start: check ${coldStart.checkSeconds} s - node -e 0 ${coldStart.nodeSeconds} s = ${coldStart.seconds} s`);

    const zoo: Record<string, { config: string; seconds: number }> = {};
    for (const p of ZOO) {
      const config = p.bug?.config ?? 'fixed';
      const secs: number[] = [];
      for (let i = 0; i < o.zooReps; i++) {
        const r = timed(check('--policy', p.name, '--config', config));
        if (r.code !== 1) throw new Error(`bench: ${p.name} [${config}]: exit ${r.code}, expected 1 (a violation)`);
        secs.push(r.secs);
      }
      zoo[p.name] = { config, seconds: r3(median(secs)) };
    }
    const per = Object.values(zoo).map((z) => z.seconds);
    const slowest = Object.entries(zoo).sort((a, b) => b[1].seconds - a[1].seconds)[0]!;
    const zooEndToEnd = {
      medianSeconds: r3(median(per)),
      maxSeconds: r3(Math.max(...per)),
      slowest: slowest[0],
      variants: zoo,
      what: `wall of \`allocspec check --policy VARIANT --config BUG_CONFIG --no-regress\` (default budget) to exit 1, median of ${o.zooReps} per variant; medianSeconds over the ${per.length} variants`,
    };
    o.log(`zoo end to end: median ${zooEndToEnd.medianSeconds} s, max ${zooEndToEnd.maxSeconds} s (${slowest[0]})`);

    const workers = await oneJob(check, o.runs, o.workerReps, o.log);
    // the same at a budget where start-up and JIT warm-up weigh less
    const longer = o.longRuns ? { [o.longRuns]: await oneJob(check, o.longRuns, 1, o.log) } : {};
    return { coldStart, zooEndToEnd, workers: { [o.runs]: workers, ...longer } };
  } finally {
    rmSync(fixtures, { recursive: true, force: true });
  }
}

// on its own: `npm run bench:startup [-- --quick]`
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  void startupBench(startupDefaults(quick, (s) => process.stderr.write(s + '\n'))).then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
}
