// Entry of an exploration worker thread that runs a policy file, or when
// the worker bundle cannot be built (harness/bundle.ts): load the
// TypeScript sources through tsx (as bin/allocspec.mjs does), then serve
// jobs (harness/workers.ts). Policy files then load through the same loader
// and module cache as the harness (harness/policies.ts).
import { register } from 'tsx/esm/api';

register();
globalThis[Symbol.for('allocspec.tsxRegistered')] = true;
const { serve } = await import('./workers.ts');
serve();
