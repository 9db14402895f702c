// Entry of an exhaustive-search worker thread (harness/exhaustive/
// parallel.ts): load the TypeScript sources through tsx (as bin/
// allocspec.mjs does), then serve transitions (./worker.ts). A policy
// file then loads through the same loader and module cache.
import { register } from 'tsx/esm/api';

register();
globalThis[Symbol.for('allocspec.tsxRegistered')] = true;
const { serve } = await import('./worker.ts');
await serve();
