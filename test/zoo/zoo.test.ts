// The "finds this bug" tier, driven by the zoo list: every variant
// (spec/policies/index.ts, ZOO) is found for seeds 1..20 (the gate: 1..3;
// npm run test:deep: all 20, test/helpers/tier.ts) within the default
// budget in the configuration it names, with one of the invariants it
// declares, and shrinks to a short trace ending with that invariant.
// Known-bad variants stay here forever. (The controls: controls.test.ts.)
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUNS } from '../../harness/cli.ts';
import { CONFIGS } from '../../harness/config.ts';
import { explore, runCommands } from '../../harness/explore.ts';
import { renderText, TraceRecorder } from '../../harness/trace.ts';
import { ZOO } from '../../spec/policies/index.ts';
import { seedsText, soakSeeds } from '../helpers/tier.ts';

const SEEDS = soakSeeds(1);

describe.each(ZOO.map((p) => [p.name, p] as const))('%s', (_name, policy) => {
  const cfg = CONFIGS[policy.bug!.config ?? 'fixed']!;
  it(`is found for ${seedsText(SEEDS)} within the default budget (config ${cfg.name}), with an invariant it declares`, () => {
    // every seed, or the share a variant states (Policy.bug.foundOn) with
    // at least the gate's first seed among them
    const missed: number[] = [];
    for (const seed of SEEDS) {
      const r = explore(policy, cfg, { seed, runs: DEFAULT_RUNS });
      if (r.counterexample === null && policy.bug!.foundOn && seed > 1) {
        missed.push(seed);
        continue;
      }
      expect(r.counterexample, `seed ${seed}`).not.toBeNull();
      expect(policy.bug!.invariants, `seed ${seed}: ${r.counterexample!.message}`).toContain(r.counterexample!.invariant);
      expect(r.counterexample!.commands.length, `seed ${seed}`).toBeLessThanOrEqual(24);
    }
    expect(1 - missed.length / SEEDS.length, `missed seeds ${missed.join(', ')}`).toBeGreaterThanOrEqual(policy.bug!.foundOn?.share ?? 1);
  }, 600_000);

  it('replays its shrunk counterexample to the same violation, the trace ending with it', () => {
    const r = explore(policy, cfg, { seed: 1, runs: DEFAULT_RUNS });
    const rec = new TraceRecorder();
    const { violation } = runCommands(policy, cfg, r.counterexample!.commands, { recorder: rec });
    expect(violation?.invariant).toBe(r.counterexample!.invariant);
    expect(renderText(rec.events, cfg.cpus).trimEnd().split('\n').at(-1)).toBe(`✗ ${violation!.invariant}: ${violation!.detail}`);
  });
});
