#!/usr/bin/env node
// The allocspec command. It starts from the bundle of the sources
// (harness/bundle.ts: one plain JavaScript file, cached by the hash of its
// inputs) when that bundle is fresh, with no TypeScript loader, and a check
// starts its first worker thread on it before this thread loads it, so
// that both loads overlap. Otherwise (no build yet, a source changed since, no
// writable cache) it runs the TypeScript sources through tsx, as it also
// does for a command that loads a user's policy file (check --policy FILE,
// replay): the policy file and the harness then share one instance of
// every spec/ module. After a run through tsx that found the bundle stale,
// the bundle is built for next time. ALLOCSPEC_TIMING=1 prints when each
// phase of the start-up ends.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const timing = process.env.ALLOCSPEC_TIMING ? (what) => process.stderr.write(`allocspec timing: ${performance.now().toFixed(1)} ms ${what}\n`) : () => {};
globalThis[Symbol.for('allocspec.timing')] = timing;
timing('bin started');

// `allocspec ... | head`: a closed pipe ends the output, not with a stack trace
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}

const argv = process.argv.slice(2);

/** The values of a flag (`--flag V` or `--flag=V`) before any `--`. */
function values(args, flag) {
  const out = [];
  for (let i = 1; i < args.length && args[i] !== '--'; i++) {
    if (args[i] === flag && i + 1 < args.length) out.push(args[++i]);
    else if (args[i].startsWith(`${flag}=`)) out.push(args[i].slice(flag.length + 1));
  }
  return out;
}
const has = (args, ...flags) => args.some((a) => flags.includes(a) || flags.some((f) => a.startsWith(`${f}=`)));

/** A policy argument that names a file (harness/policies.ts's looksLikePath). */
const isFile = (s) => s.startsWith('.') || s.startsWith('/') || /\.(ts|mts|js|mjs)$/.test(s);

/** Does this command load a user's policy file? replay may (a fixture
 *  names its policy's file); check does when a --policy names a file. */
function loadsPolicyFiles(args) {
  if (args[0] === 'replay') return true;
  return args[0] === 'check' && values(args, '--policy').some(isFile);
}

/** Will this check explore in a worker thread? Every check does, unless
 *  --hook-timeout 0 with one worker lets it run in this thread, or it
 *  explores nothing (help, --exhaustive, --report). */
function exploresInWorker(args) {
  if (args[0] !== 'check' || has(args, '-h', '--help', '--exhaustive', '--report')) return false;
  const timeout = values(args, '--hook-timeout').at(-1);
  const workers = values(args, '--workers').at(-1);
  return !(timeout !== undefined && Number(timeout) === 0 && (workers === undefined ? availableParallelism() : Number(workers)) <= 1);
}

/** How many worker threads to start before the bundle loads: the pool
 *  (harness/workers.ts poolSize) uses min(--workers, chunks of 250 runs).
 *  One when the check is surely one chunk (one policy, one configuration,
 *  --runs 250 or less): a second thread would only compete with this one's
 *  load for the cores. Otherwise every worker the pool will start, so the
 *  later ones do not begin loading only once this thread has. */
function earlyWorkerCount(args) {
  const w = values(args, '--workers').at(-1);
  const workers = w === undefined ? availableParallelism() : Number(w);
  if (!Number.isInteger(workers) || workers <= 1) return 1;
  const runs = values(args, '--runs').at(-1);
  const policies = values(args, '--policy');
  const configs = values(args, '--config');
  const oneChunk = runs !== undefined && Number(runs) <= 250 && policies.length === 1 && configs.length === 1 && !configs[0].includes(',');
  // harness/cli.ts caps --workers at the cores
  return oneChunk ? 1 : Math.min(workers, availableParallelism());
}

const sources = loadsPolicyFiles(argv);
let main;
const early = [];
if (!sources) {
  const { freshBundle, STARTED_FROM } = await import('../harness/bundle-cache.mjs');
  const file = freshBundle();
  timing(file ? 'bundle fresh' : 'bundle stale or absent');
  if (file) {
    // the worker threads load the bundle while this thread does
    // (harness/workers.ts's WorkerPool takes them over, and starts any others)
    const timed = process.env.ALLOCSPEC_TIMING ? { timeOrigin: performance.timeOrigin } : {};
    for (let i = exploresInWorker(argv) ? earlyWorkerCount(argv) : 0; i > 0; i--) {
      const e = { worker: new Worker(new URL('../harness/worker-entry.mjs', import.meta.url), { workerData: { bundle: file, ...timed } }), bundle: file, gone: undefined, claimed: false };
      e.worker.on('error', (err) => (e.gone ??= err));
      e.worker.on('exit', (code) => (e.gone ??= new Error(`worker exited with code ${code}`)));
      early.push(e);
    }
    globalThis[Symbol.for('allocspec.earlyWorkers')] = early;
    if (early.length) timing(`${early.length} early worker thread(s) started`);
    try {
      ({ main } = await import(pathToFileURL(file).href));
      globalThis[STARTED_FROM] = file; // the pool's later workers start on it too
      timing('bundle loaded');
    } catch {
      main = undefined; // a damaged cache: the sources then
    }
  }
}
let build;
if (!main) {
  const { register } = await import('tsx/esm/api');
  register();
  // harness/policies.ts: policy files load through this loader (one module cache)
  globalThis[Symbol.for('allocspec.tsxRegistered')] = true;
  ({ main } = await import('../harness/cli.ts'));
  timing('sources loaded through tsx');
  // the next run starts from the bundle (its workers already use it)
  if (!sources) build = import('../harness/bundle.ts').then((m) => m.sourceBundleOnce());
}
try {
  process.exitCode = await main(argv);
} finally {
  await Promise.all(early.filter((e) => !e.claimed).map((e) => e.worker.terminate()));
}
await build?.catch(() => {});
