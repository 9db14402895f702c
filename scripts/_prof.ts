import { CONFIGS } from '../harness/config.ts';
import { explore } from '../harness/explore.ts';
import { findPolicy } from '../spec/policies/index.ts';
const p = findPolicy(process.argv[2]!)!;
const t = Date.now();
const r = explore(p, CONFIGS[process.argv[3] ?? 'fixed']!, { seed: 1, runs: Number(process.argv[4] ?? 2000) });
console.log(r.runs, r.steps, Date.now() - t, 'ms', Math.round(r.steps / ((Date.now() - t) / 1000)), 'steps/s');
