// The deep benchmark subjects of bench/deep.ts (spec/policies/deep-*.ts,
// not in the zoo): each hand-built deep counterexample breaks its variant
// with an invariant the variant declares, and bpf-ma survives the same
// commands, so the benchmark measures reachability of a real window.
import { describe, expect, it } from 'vitest';
import { DEEP } from '../../bench/deep.ts';
import { runCommands } from '../../harness/explore.ts';
import { bpfMa } from '../../spec/policies/bpf-ma.ts';
import { ZOO } from '../../spec/policies/index.ts';

describe.each(DEEP.map((d) => [d.name, d] as const))('%s', (_name, d) => {
  it(`its hand-built counterexample (${d.cfg.name}) breaks it and not bpf-ma`, () => {
    const v = runCommands(d.policy, d.cfg, d.hand!).violation;
    expect(v, 'variant').not.toBeNull();
    expect(d.policy.bug!.invariants).toContain(v!.invariant);
    expect(runCommands(bpfMa, d.cfg, d.hand!).violation, 'bpf-ma').toBeNull();
  });

  it('is not in the zoo', () => {
    expect(ZOO.map((p) => p.name)).not.toContain(d.policy.name);
  });
});
