import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import { runCommands } from '../../harness/explore.ts';
import { exhaustive } from '../../harness/exhaustive.ts';
import { findPolicy } from '../../spec/policies/index.ts';

const one = { ...CONFIGS.fixed!, cpus: 1 };

describe('exhaustive', () => {
  it('finds bug/unit-free-ignores-active with a shortest counterexample (4 commands on 2 CPUs)', () => {
    const p = findPolicy('bug/unit-free-ignores-active')!;
    const r = exhaustive(p, CONFIGS.fixed!, { depth: 5 });
    expect(r.counterexample?.commands).toHaveLength(4);
    expect(r.provedDepth).toBe(3);
    expect(runCommands(p, CONFIGS.fixed!, r.counterexample!.commands).violation?.invariant).toBe(r.counterexample!.invariant);
  });
  it('finds bug/destroy-skips-barriers at depth 3 on one CPU (three allocations; the teardown frees them with callbacks in flight)', () => {
    const r = exhaustive(findPolicy('bug/destroy-skips-barriers')!, one, { depth: 5 });
    expect(r.counterexample?.invariant).toBe('TeardownBarriers');
    expect(r.counterexample?.commands).toHaveLength(3);
    expect(r.provedDepth).toBe(2);
  });
  it('proves bpf-ma violation-free to a depth and counts states', () => {
    const r = exhaustive(findPolicy('bpf-ma')!, one, { depth: 4 });
    expect(r.counterexample).toBeNull();
    expect(r.provedDepth).toBe(4);
    expect(r.states).toBeGreaterThan(10);
    expect(r.transitions).toBeGreaterThan(r.states);
    // keyed on the canonical state, not a hash
    expect(r.sound).toBe(true);
  });
});
