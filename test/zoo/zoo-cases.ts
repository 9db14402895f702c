// The zoo's two cases for a list of variants (zoo.test.ts and the files
// that take a family's variants into a test file of their own, so vitest
// runs them beside the rest): found for seeds 1..20 within the default
// budget in the configuration each names, with an invariant it declares,
// and the shrunk counterexample replays to a trace ending with it.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUNS } from '../../harness/cli.ts';
import { CONFIGS } from '../../harness/config.ts';
import { explore, runCommands } from '../../harness/explore.ts';
import { renderText, TraceRecorder } from '../../harness/trace.ts';
import type { Policy } from '../../spec/policies/policy.ts';

/** Variants tested in a file of their own (by name) */
export const OWN_FILE = /^bug\/(sheaves|nolock)-/;

export function zooCases(variants: readonly Policy<any>[]): void {
  describe.each(variants.map((p) => [p.name, p] as const))('%s', (_name, policy) => {
    const cfg = CONFIGS[policy.bug!.config ?? 'fixed']!;
    it(`is found for seeds 1..20 within the default budget (config ${cfg.name}), with an invariant it declares`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const r = explore(policy, cfg, { seed, runs: DEFAULT_RUNS });
        expect(r.counterexample, `seed ${seed}`).not.toBeNull();
        expect(policy.bug!.invariants, `seed ${seed}: ${r.counterexample!.message}`).toContain(r.counterexample!.invariant);
        expect(r.counterexample!.commands.length, `seed ${seed}`).toBeLessThanOrEqual(24);
      }
    }, 600_000);

    it('replays its shrunk counterexample to the same violation, the trace ending with it', () => {
      const r = explore(policy, cfg, { seed: 1, runs: DEFAULT_RUNS });
      const rec = new TraceRecorder();
      const { violation } = runCommands(policy, cfg, r.counterexample!.commands, { recorder: rec });
      expect(violation?.invariant).toBe(r.counterexample!.invariant);
      expect(renderText(rec.events, cfg.cpus).trimEnd().split('\n').at(-1)).toBe(`✗ ${violation!.invariant}: ${violation!.detail}`);
    });
  });
}
