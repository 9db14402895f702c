import { DEFAULT_RUNS } from '../harness/cli.ts';
import { CONFIGS } from '../harness/config.ts';
import { explore, runCommands } from '../harness/explore.ts';
import { renderText, TraceRecorder } from '../harness/trace.ts';
import { findPolicy } from '../spec/policies/index.ts';
const p = findPolicy(process.argv[2]!)!;
const cfg = CONFIGS[process.argv[3] ?? 'fixed']!;
for (let seed = Number(process.argv[4] ?? 1); seed <= Number(process.argv[5] ?? 5); seed++) {
  const r = explore(p, cfg, { seed, runs: Number(process.argv[6] ?? DEFAULT_RUNS) });
  console.log(seed, r.runs, r.counterexample?.invariant, r.counterexample?.message);
  if (r.counterexample && (process.argv[7] === 'trace')) {
    const rec = new TraceRecorder();
    runCommands(p, cfg, r.counterexample.commands, { recorder: rec });
    console.log(renderText(rec.events, cfg.cpus));
  }
}
