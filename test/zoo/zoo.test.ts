// The "finds this bug" tier, driven by the zoo list: every variant
// (spec/policies/index.ts, ZOO) is found for seeds 1..20 within the default
// budget in the configuration it names, with one of the invariants it
// declares, and shrinks to a short trace ending with that invariant.
// Known-bad variants stay here forever. (The controls: controls.test.ts.)
// The cases are zoo-cases.ts's; a family whose variants are slow to shrink
// runs them in a file of its own (OWN_FILE: sheaves.test.ts).
import { ZOO } from '../../spec/policies/index.ts';
import { OWN_FILE, zooCases } from './zoo-cases.ts';

zooCases(ZOO.filter((p) => !OWN_FILE.test(p.name)));
