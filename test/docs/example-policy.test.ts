// The tutorial's example policy (docs/examples/my-policy.ts) loads through
// the `allocspec/...` package path and holds under a fixed seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cmdArbitrary } from '../../harness/commands.ts';
import { CONFIGS } from '../../harness/config.ts';
import { Sim, genCtx } from '../../harness/sim.ts';
import { knownObservations } from '../../harness/shrink.ts';
import myPolicy from '../../docs/examples/my-policy.ts';

describe('docs/examples/my-policy.ts', () => {
  it('is a policy built on bpf-ma with its own alloc hook', () => {
    expect(myPolicy.name).toBe('my-eager-refill');
    expect(typeof myPolicy.alloc).toBe('function');
  });
  it('holds every invariant for 200 runs of seed 1', () => {
    const cfg = CONFIGS.fixed!;
    const arb = fc.array(cmdArbitrary(genCtx(myPolicy, cfg)), { maxLength: cfg.maxCommands });
    for (const cmds of fc.sample(arb, { seed: 1, numRuns: 200 })) {
      const sim = new Sim(myPolicy, cfg, { tolerate: knownObservations(myPolicy) });
      for (const c of cmds) sim.exec(c);
      sim.finish();
    }
  });
});
