import { DEFAULT_RUNS } from '../harness/cli.ts';
import { CONFIGS } from '../harness/config.ts';
import { explore } from '../harness/explore.ts';
import { findPolicy } from '../spec/policies/index.ts';
const p = findPolicy(process.argv[2]!)!;
const cfg = CONFIGS[p.bug?.config ?? 'fixed']!;
let tot = 0;
for (let seed = 1; seed <= 20; seed++) {
  const t = Date.now();
  const r = explore(p, cfg, { seed, runs: DEFAULT_RUNS });
  const dt = Date.now() - t;
  tot += dt;
  console.log(seed, r.runs, r.shrinkRuns, r.steps, r.counterexample?.commands.length, dt);
}
console.log('total', tot);
