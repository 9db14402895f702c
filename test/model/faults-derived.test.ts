// Each family's faults are the faults its code handles (issue 21): a run
// records which fault points the family's code reaches after boot (every
// kmalloc, __alloc_percpu_gfp, spin_trylock and page allocation asks the
// slab whether it fails, armed or not) and whether it keeps objects per CPU
// (a Holding with a CPU) or has a CPU-dead callback, which a CPU going
// offline reaches. A fault the code handles that the policy never injects
// fails here: slub-pca's destroy walks every CPU's array, and its policy
// injected no cpu_offline.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cmdArbitrary, type Cmd } from '../../harness/commands.ts';
import { CONFIGS, DEFAULT_PROFILE } from '../../harness/config.ts';
import { faultKinds, genCtx, Sim } from '../../harness/sim.ts';
import { Slab, type FaultKind } from '../../spec/kernel/slab.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { CONTROLS, CORRECT_POLICIES } from '../../spec/policies/index.ts';
import type { Policy } from '../../spec/policies/policy.ts';

/** The fault points the code of policy reaches under cfg after boot. */
function handled(policy: Policy<unknown>, cfg: (typeof CONFIGS)[string]): Set<FaultKind> {
  const seen = new Set<FaultKind>();
  const fails = Slab.prototype.fails;
  const cmds = fc.sample(fc.array(cmdArbitrary(genCtx(policy, cfg)), { minLength: 10, maxLength: 30 }), { seed: 21, numRuns: 40 });
  for (const run of cmds) {
    const sim = new Sim(policy, cfg);
    if ([...sim.k.holdings.values()].some((h) => h.cpu !== undefined) || policy.cpuDead) seen.add('cpu_offline');
    Slab.prototype.fails = function (this: Slab, kind: FaultKind, x?: Parameters<typeof fails>[1]) {
      seen.add(kind);
      return fails.call(this, kind, x);
    };
    try {
      for (const c of run as Cmd[]) {
        if (sim.over) break;
        sim.exec(c);
        // caches set up on demand (seed 000) are per CPU too
        if ([...sim.k.holdings.values()].some((h) => h.cpu !== undefined)) seen.add('cpu_offline');
      }
      sim.finish();
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
    } finally {
      Slab.prototype.fails = fails;
    }
  }
  return seen;
}

describe('every fault a family handles is injected', () => {
  for (const p of [...CORRECT_POLICIES, ...CONTROLS]) {
    it(p.name, () => {
      for (const name of DEFAULT_PROFILE) {
        const cfg = CONFIGS[name]!;
        const injected = faultKinds(p, cfg);
        const missing = [...handled(p, cfg)].filter((f) => !injected.includes(f));
        expect(missing, `${p.name} in ${name}: its code handles these faults, its policy never injects them`).toEqual([]);
      }
    }, 120_000);
  }

  it('must fail: slub-pca without cpu_offline (its faults before issue 21) is caught', () => {
    const slub = CORRECT_POLICIES.find((p) => p.name === 'slub-pca')!;
    const old = { ...slub, faults: ['kmalloc', 'trylock'] as FaultKind[] };
    const cfg = CONFIGS.fixed!;
    expect([...handled(old, cfg)].filter((f) => !faultKinds(old, cfg).includes(f))).toEqual(['cpu_offline']);
  });
});
