import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import { runCommands } from '../../harness/explore.ts';
import { explorePct, pctCommands } from '../../harness/pct.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { genCtx } from '../../harness/sim.ts';

describe('pct strategy', () => {
  it('is deterministic per (seed, run) and keeps to the configuration', () => {
    const cfg = { ...CONFIGS.wide!, cpus: 4 };
    const g = genCtx(findPolicy('bpf-ma')!, cfg);
    const a = pctCommands(g, 1, 7, 3);
    expect(pctCommands(g, 1, 7, 3)).toEqual(a);
    expect(pctCommands(g, 1, 8, 3)).not.toEqual(a);
    expect(a).toHaveLength(cfg.maxCommands);
    for (const c of a) if ('cpu' in c) expect(c.cpu).toBeLessThan(4);
  });
  it('finds bug/unit-free-ignores-active with a replayable, shrunk command list', () => {
    const p = findPolicy('bug/unit-free-ignores-active')!;
    const r = explorePct(p, CONFIGS.fixed!, { seed: 1, runs: 2000 });
    const cx = r.counterexample!;
    expect(cx).not.toBeNull();
    expect(runCommands(p, CONFIGS.fixed!, cx.commands).violation?.invariant).toBe(cx.invariant);
  });
  it('finds nothing in bpf-ma in a short soak', () => {
    expect(explorePct(findPolicy('bpf-ma')!, CONFIGS.fixed!, { seed: 1, runs: 100 }).counterexample).toBeNull();
  });
});
