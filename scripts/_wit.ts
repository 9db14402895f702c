import '../model/judges.ts';
import { readFileSync } from 'node:fs';
import { parseFixture } from '../harness/fixture.ts';
import { findPolicy } from '../spec/policies/index.ts';
import { fixtureRun } from '../harness/regress.ts';
import { lastTouches } from '../harness/witness.ts';
for (const f of process.argv.slice(2)) {
  const fx = parseFixture(readFileSync(f, 'utf8'), f);
  const p = findPolicy(fx.policy)!;
  const v = fixtureRun(p, fx)!;
  const last = lastTouches(p, fx.config, fx.commands, v, { promise: fx.promise as any });
  console.log(f, JSON.stringify({ ...v.witness, last }, null, 0));
}
