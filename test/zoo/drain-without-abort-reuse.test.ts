// The "finds this bug" tier for bug/drain-without-abort-reuse, and the
// must-fail check that motivates the RFC: bpf-ma, held to the reuse
// flavour's promise, hands a freed object out before a grace period.
import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import { DEFAULT_RUNS } from '../../harness/cli.ts';
import { explore, runCommands } from '../../harness/explore.ts';
import type { Cmd } from '../../harness/commands.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { seedsText, soakSeeds } from '../helpers/tier.ts';

const zoo = findPolicy('bug/drain-without-abort-reuse')!;
const rfc = findPolicy('reuse-after-rcu-gp')!;

describe('bug/drain-without-abort-reuse', () => {
  const seeds = soakSeeds(3);
  it(`is found for ${seedsText(seeds)} within the default budget, as NoLeakAtTeardown`, () => {
    for (const seed of seeds) {
      const r = explore(zoo, CONFIGS.fixed!, { seed, runs: DEFAULT_RUNS });
      expect(r.counterexample, `seed ${seed}`).not.toBeNull();
      expect(r.counterexample!.invariant, `seed ${seed}`).toBe('NoLeakAtTeardown');
      expect(r.counterexample!.commands.length, `seed ${seed}`).toBeLessThanOrEqual(16);
    }
  }, 600_000);

  it('is the missing abort_reuse: the RFC as written frees the same batch on the same commands', () => {
    const r = explore(zoo, CONFIGS.fixed!, { seed: 1, runs: DEFAULT_RUNS });
    const cmds = r.counterexample!.commands;
    const bad = runCommands(zoo, CONFIGS.fixed!, cmds);
    expect(bad.violation?.invariant).toBe('NoLeakAtTeardown');
    const good = runCommands(rfc, CONFIGS.fixed!, cmds, { situations: new Map() });
    expect(good.violation).toBeNull();
    // the RFC's drain left abort_reuse for the late bpf_ma_reuse_cb to see
    expect(good.sim.k.situations!.get('reuse:abort-in-callback') ?? 0).toBeGreaterThan(0);
  });
});

describe('bpf-ma held to NoReuseBeforeGracePeriod (must fail: the immediate reuse the RFC motivates)', () => {
  it('hands a freed object out again before a grace period, under seed 1', () => {
    const r = explore(findPolicy('bpf-ma')!, CONFIGS.fixed!, { seed: 1, runs: DEFAULT_RUNS, promise: ['NoReuseBeforeGracePeriod'] });
    expect(r.counterexample?.invariant).toBe('NoReuseBeforeGracePeriod');
  });

  it('a fixed three-step interleaving: free, then alloc on the same CPU with no grace period between', () => {
    const cmds: Cmd[] = [
      { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 },
      { t: 'prog', cpu: 0, op: 'free', arg: 0, count: 1, sleepable: false, steps: 0 },
      { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 },
    ];
    const bpfMa = findPolicy('bpf-ma')!;
    expect(runCommands(bpfMa, CONFIGS.fixed!, cmds, { promise: ['NoReuseBeforeGracePeriod'] }).violation?.invariant).toBe('NoReuseBeforeGracePeriod');
    // the reuse flavours keep the promise on the same commands
    expect(runCommands(rfc, CONFIGS.fixed!, cmds).violation).toBeNull();
    expect(runCommands(findPolicy('free-after-rcu-gp')!, CONFIGS.fixed!, cmds).violation).toBeNull();
  });
});
