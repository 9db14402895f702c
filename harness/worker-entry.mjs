// Entry of an exploration worker thread. With workerData.bundle (the
// bundle of the sources, harness/bundle.ts): serve jobs from it, no loader.
// Without (a job runs a policy file, or the bundle cannot be built): load
// the TypeScript sources through tsx (as bin/allocspec.mjs does when it
// cannot start from the bundle), then serve jobs (harness/serve.ts);
// policy files then load through the same loader and module cache as the
// harness (harness/policies.ts).
import { threadId, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

// ALLOCSPEC_TIMING: phases on the main thread's clock (bin/allocspec.mjs)
const t0 = workerData?.timeOrigin;
const timing = (globalThis[Symbol.for('allocspec.timing')] = t0 === undefined ? () => {} : (what) => process.stderr.write(`allocspec timing: ${(performance.timeOrigin + performance.now() - t0).toFixed(1)} ms worker ${threadId}: ${what}\n`));
timing('started');
const bundle = workerData?.bundle;
if (typeof bundle === 'string') {
  const { serve } = await import(pathToFileURL(bundle).href);
  timing('bundle loaded');
  serve();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis[Symbol.for('allocspec.tsxRegistered')] = true;
  const { serve } = await import('./serve.ts');
  timing('sources loaded through tsx');
  serve();
}
