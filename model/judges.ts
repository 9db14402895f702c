// The model judges what the engine reports: each fact (spec/kernel/events.ts)
// is the invariant model/invariants.ts names for it, and the run ends with
// that Violation. The engine never names an invariant itself. Imported for
// its effect by the model (model/allocator.ts) and by the tests' setup.
import { installJudge, type Fact } from '../spec/kernel/events.ts';
import { Violation } from '../spec/kernel/types.ts';
import { invariantOf } from './invariants.ts';

export function judge(f: Fact): never {
  throw new Violation(invariantOf(f.fact), f.text, f.witness);
}

installJudge(judge);
