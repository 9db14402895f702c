// The "finds this bug" tier: each memalloc.c zoo variant is found, for every
// seed 1..20, within the default budget, and shrinks to a short trace that
// ends with the invariant it breaks. Known-bad variants stay here forever.
import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import { explore, runCommands } from '../../harness/explore.ts';
import { DEFAULT_RUNS } from '../../harness/cli.ts';
import { renderText, TraceRecorder } from '../../harness/trace.ts';
import { findPolicy } from '../../spec/policies/index.ts';

const ZOO = ['bug/unit-free-ignores-active', 'bug/destroy-skips-barriers'];

describe.each(ZOO)('%s', (name) => {
  const policy = findPolicy(name)!;
  it('is found for seeds 1..20 within the default budget, with an invariant it is known to break', () => {
    const lengths: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const r = explore(policy, CONFIGS.fixed!, { seed, runs: DEFAULT_RUNS });
      expect(r.counterexample, `seed ${seed}`).not.toBeNull();
      expect(policy.bug!.invariants).toContain(r.counterexample!.invariant);
      lengths.push(r.counterexample!.commands.length);
    }
    expect(Math.max(...lengths)).toBeLessThanOrEqual(12);
  });

  it('replays its shrunk counterexample to the same violation, trace ending with it', () => {
    const r = explore(policy, CONFIGS.fixed!, { seed: 1, runs: DEFAULT_RUNS });
    const rec = new TraceRecorder();
    const { violation } = runCommands(policy, CONFIGS.fixed!, r.counterexample!.commands, { recorder: rec });
    expect(violation?.invariant).toBe(r.counterexample!.invariant);
    const text = renderText(rec.events, 2);
    expect(text.trimEnd().split('\n').at(-1)).toBe(`✗ ${violation!.invariant}: ${violation!.detail}`);
  });
});
