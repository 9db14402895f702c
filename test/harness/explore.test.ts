// The correct baseline holds every invariant under fixed seeds, in every
// default configuration, and exploration is deterministic per seed.
import { describe, expect, it } from 'vitest';
import { CONFIGS, DEFAULT_PROFILE } from '../../harness/config.ts';
import { explore } from '../../harness/explore.ts';
import { findPolicy } from '../../spec/policies/index.ts';

const bpfMa = findPolicy('bpf-ma')!;

describe('bpf-ma', () => {
  it.each(DEFAULT_PROFILE)('holds every invariant in config %s (seeds 1..3)', (cfg) => {
    for (let seed = 1; seed <= 3; seed++) {
      const r = explore(bpfMa, CONFIGS[cfg]!, { seed, runs: 400 });
      expect(r.counterexample, `seed ${seed}: ${r.counterexample?.message}`).toBeNull();
      expect(r.runs).toBe(400);
      // seed 004's IRQ order is a known finding it notes and runs on past
      for (const k of r.known) expect(bpfMa.findings!.known.map((f) => f.name)).toContain(k.finding);
      expect(r.runsToEnd).toBe(400);
      expect(r.effective / r.commands).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('explores the same runs for the same seed', () => {
    const a = explore(bpfMa, CONFIGS.fixed!, { seed: 7, runs: 200 });
    const b = explore(bpfMa, CONFIGS.fixed!, { seed: 7, runs: 200 });
    expect([a.steps, a.commands, a.states.size, [...a.situations].sort()]).toEqual([b.steps, b.commands, b.states.size, [...b.situations].sort()]);
  });

  it('reaches NMIs inside each active section and teardown with callbacks in flight', () => {
    const r = explore(bpfMa, CONFIGS.fixed!, { seed: 1, runs: 2000 });
    for (const s of ['nmi-in-active:unit_alloc', 'nmi-in-active:unit_free', 'nmi-in-active:alloc_bulk', 'teardown-with-callbacks-in-flight', 'fault:kmalloc', 'fault:cpu_offline']) {
      expect(r.situations.get(s) ?? 0, s).toBeGreaterThan(0);
    }
  });
});
