// control/bpf-ma-on-percpu-chunk-fixed explored: it holds every invariant
// with no known finding where the original finds its four (percpu, and
// percpu under PREEMPT_RT); one piece of the fix taken out is found.
// (test/zoo/controls.test.ts runs it in the default profile too.)
import { describe, expect, it } from 'vitest';
import { CONFIGS, type CheckConfig } from '../../harness/config.ts';
import { explore } from '../../harness/explore.ts';
import type { Context } from '../../spec/kernel/context.ts';
import { spinLockIrqsave, spinUnlockIrqrestore } from '../../spec/kernel/spinlock_rt.ts';
import type { Gen } from '../../spec/kernel/types.ts';
import type { PcpuAtomic } from '../../spec/percpu_chunk/atomic.ts';
import { pcpuChunkPopulated } from '../../spec/percpu_chunk/balance.ts';
import type { PcpuChunk } from '../../spec/percpu_chunk/chunk.ts';
import { bpfMaOnPercpuChunkFixed, onPercpuAtomic } from '../../spec/policies/control-bpf-ma-on-percpu-chunk-fixed.ts';
import { definePolicy } from '../../spec/policies/policy.ts';
import { DEEP, seedsText, soakSeeds } from '../helpers/tier.ts';

/** pcpu_chunk_populated() before pcpu_populate_chunk(): pages published
 *  before they exist (and left published when the populate fails). */
function* markThenPopulate(x: Context, a: PcpuAtomic, c: PcpuChunk, rs: number, re: number): Gen<boolean> {
  const flags = yield* spinLockIrqsave(x, a.lock);
  yield* pcpuChunkPopulated(x, a, c, rs, re);
  yield* spinUnlockIrqrestore(x, a.lock, flags);
  const ps = a.p.geom.pageSize;
  return (yield* a.p.ops.populate(x, a.p, c, rs * ps, (re - rs) * ps)) === 0;
}

/** percpu with PREEMPT_RT: irq_work in a kthread, RCU callbacks threaded
 *  (where the original finds pcpu-mutex-in-rcu-callback and the populate
 *  error path) */
const RT_PERCPU: CheckConfig = { ...CONFIGS.rt!, name: 'rt-percpu', percpu: true, size: 8192 };

describe('control/bpf-ma-on-percpu-chunk-fixed: explored', () => {
  const seeds = soakSeeds(1, 20);
  const runs = DEEP ? 5000 : 150;
  // the gate has percpu from controls.test.ts (seed 1, 500 runs); rt-percpu
  // is this file's own
  const configs = DEEP ? ([['percpu', CONFIGS.percpu!], ['rt-percpu', RT_PERCPU]] as const) : ([['rt-percpu', RT_PERCPU]] as const);
  it.each(configs)(`holds every invariant with no known finding in %s (${seedsText(seeds)}, ${runs} runs)`, (_n, cfg) => {
    for (const seed of seeds) {
      const r = explore(bpfMaOnPercpuChunkFixed, cfg, { seed, runs });
      expect(r.counterexample, `seed ${seed}: ${r.counterexample?.message}`).toBeNull();
      expect(r.known).toEqual([]);
      expect(r.runsToEnd).toBe(runs);
    }
  }, 1_200_000);

  it('must-fail: the balance work publishing pages before their populate is PcpuLiveAreaPopulated', () => {
    const variant = definePolicy({ ...bpfMaOnPercpuChunkFixed, name: 'test/balance-marks-populated-first', control: undefined, init: onPercpuAtomic({ populateRange: markThenPopulate }) });
    const r = explore(variant, CONFIGS.percpu!, { seed: 1, runs: 500 });
    expect(r.counterexample?.invariant).toBe('PcpuLiveAreaPopulated');
  });
});

describe('control/bpf-ma-on-percpu-chunk-fixed: the pool is judged live', () => {
  it('must-fail: a balance work that populates nothing after a failed GFP_NOWAIT allocation is RefillProgress', () => {
    const variant = definePolicy({ ...bpfMaOnPercpuChunkFixed, name: 'test/balance-populates-nothing', control: undefined, init: onPercpuAtomic({ populateRange: function* () { return false; } }) });
    const r = explore(variant, CONFIGS.percpu!, { seed: 1, runs: 500 });
    expect(r.counterexample?.invariant).toBe('RefillProgress');
    expect(r.counterexample?.message).toMatch(/^pcpu_alloc\(8192, GFP_NOWAIT\) failed for want of populated pages/);
  });
});
