// Every test file runs with the model's judge installed: a fact the engine
// reports (spec/kernel/events.ts) becomes the Violation model/invariants.ts
// names for it, as in a run.
import '../model/judges.ts';
