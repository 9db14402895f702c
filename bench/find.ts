// `npx tsx bench/find.ts POLICY[@CONFIG] ... [--seeds N] [--runs N]`: for
// each policy, the runs explore() needs to find a counterexample on seeds
// 1..N within the budget (default 5000, the default check's), with the
// invariant and the shrunk length. A measurement, not a test: issue 21's
// must-show figures (blind before, found now) come from it.
import { parseArgs } from 'node:util';
import { CONFIGS } from '../harness/config.ts';
import { explore } from '../harness/explore.ts';
import { findPolicy } from '../spec/policies/index.ts';
import { deepActiveAsFlag } from '../spec/policies/deep-active-as-flag.ts';
import { deepAllocBulkClampsAfterLoop } from '../spec/policies/deep-alloc-bulk-clamps-after-loop.ts';
import { deepAllocBulkCountsAfterLoop } from '../spec/policies/deep-alloc-bulk-counts-after-loop.ts';
import { deepFreeBulkPlainDelExtra } from '../spec/policies/deep-free-bulk-plain-del-extra.ts';

/** the deep/ subjects (bench/deep.ts), not in the registry */
const DEEP = [deepActiveAsFlag, deepAllocBulkClampsAfterLoop, deepAllocBulkCountsAfterLoop, deepFreeBulkPlainDelExtra];

const { values, positionals } = parseArgs({ allowPositionals: true, options: { seeds: { type: 'string', default: '20' }, runs: { type: 'string', default: '5000' } } });
const seeds = Number(values.seeds);
const runs = Number(values.runs);
for (const arg of positionals) {
  const [name, cfgName] = arg.split('@') as [string, string | undefined];
  const policy = findPolicy(name) ?? DEEP.find((p) => p.name === name);
  if (!policy) throw new Error(`unknown policy ${name}`);
  const cfg = CONFIGS[cfgName ?? policy.bug?.config ?? 'fixed']!;
  const found: number[] = [];
  const shrunk: number[] = [];
  const invs = new Map<string, number>();
  const t0 = Date.now();
  const errors: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    let r;
    try {
      r = explore(policy, cfg, { seed, runs });
    } catch (e) {
      errors.push(`seed ${seed}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    if (r.counterexample) {
      found.push(r.runs);
      shrunk.push(r.counterexample.commands.length);
      invs.set(r.counterexample.invariant, (invs.get(r.counterexample.invariant) ?? 0) + 1);
    }
  }
  const med = (a: number[]): number => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]! : NaN);
  if (errors.length) console.log(`${name}: ${errors.length} seeds ended in an error: ${errors[0]}`);
  console.log(
    `${name}@${cfg.name}: found ${found.length}/${seeds}; runs median ${med(found)} max ${found.length ? Math.max(...found) : '-'}; shrunk median ${med(shrunk)} max ${shrunk.length ? Math.max(...shrunk) : '-'}; ${[...invs].map(([i, n]) => `${i} ${n}`).join(', ')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
}
