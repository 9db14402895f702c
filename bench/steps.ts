// Raw steps per CPU-second of the run loop over pre-generated command lists
// (bench.ts's rawSim figure, alone and quick), for paired before/after runs
// of an engine change:
//
//   npx tsx bench/steps.ts [--lists N] [--reps R] [policy...]
//
// One line per policy in `fixed`: best of R repetitions.
import { parseArgs } from 'node:util';
import { CORRECT_POLICIES } from '../spec/policies/index.ts';
import { CONFIGS } from '../harness/config.ts';
import { commandLists, rawStepsPerSecond } from './bench.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { lists: { type: 'string', default: '400' }, reps: { type: 'string', default: '3' } } });
const fixed = CONFIGS.fixed!;
const names = positionals.length ? positionals : ['bpf-ma', 'bpf-ma-upstream', 'reuse-after-rcu-gp', 'slub-pca', 'percpu-chunk'];
for (const name of names) {
  const p = CORRECT_POLICIES.find((x) => x.name === name)!;
  const sps = rawStepsPerSecond(p, fixed, commandLists(p, fixed, 1, Number(values.lists)), Number(values.reps));
  console.log(`${name} ${sps}`);
}
