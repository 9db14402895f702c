// The exhaustive mode's state key (harness/statekey.ts): the same state is
// the same key whatever path led there; a different state differs.
import { describe, expect, it } from 'vitest';
import { stateKey } from '../../harness/statekey.ts';
import { Sim } from '../../harness/sim.ts';
import { CONFIGS } from '../../harness/config.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import type { Cmd } from '../../harness/commands.ts';
import { objectState } from '../../spec/kernel/obj.ts';

const fixed = CONFIGS.fixed!;
const keyAfter = (policy: string, cmds: Cmd[]): string => {
  const sim = new Sim(findPolicy(policy)!, fixed);
  sim.k.keepHistory = true;
  for (const c of cmds) sim.exec(c);
  return stateKey(sim);
};
const alloc = (cpu: number): Cmd => ({ t: 'prog', cpu, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });

describe('stateKey', () => {
  it('is a function of the state: the same commands give the same key', () => {
    expect(keyAfter('bpf-ma', [alloc(0), alloc(1)])).toBe(keyAfter('bpf-ma', [alloc(0), alloc(1)]));
  });

  it('two different states differ (who owns what, which CPU\'s cache gave it)', () => {
    expect(keyAfter('bpf-ma', [alloc(0)])).not.toBe(keyAfter('bpf-ma', [alloc(1)]));
    expect(keyAfter('bpf-ma', [alloc(0)])).not.toBe(keyAfter('bpf-ma', [alloc(0), alloc(0)]));
  });

  it('what a family keeps of an object outside it is part of the key (upstream\'s cache hint)', () => {
    const sim = new Sim(findPolicy('bpf-ma-upstream')!, fixed);
    sim.exec(alloc(1));
    const owned = sim.model.owned[0]!;
    expect(objectState(owned)).toBe('c[cpu1]');
    expect(stateKey(sim)).toContain(`^c[cpu1]>`);
  });

  // The compositions plug seed 003's allocator in beneath the slab
  // (PercpuBackend); its chunks, maps and the 2014 populated bitmap were
  // captured by closures only, so two states differing there had one key.
  it('a percpu allocator plugged in beneath is part of the key (its chunk maps, the populated bitmap)', () => {
    for (const name of ['bpf-ma-on-percpu-chunk', 'control/bpf-ma-on-percpu-chunk-fixed']) {
      const sim = new Sim(findPolicy(name)!, CONFIGS.percpu!);
      const st = sim.k.slab.percpuBackend!.state as { p?: { static: { map_used: number } }; s?: { p: { static: { map_used: number } } }; a?: { setPopulated(c: unknown, rs: number, re: number, v: boolean): void } };
      const before = stateKey(sim);
      const p = (st.s ?? st).p!;
      p.static.map_used += 1;
      expect(stateKey(sim), name).not.toBe(before);
      p.static.map_used -= 1;
      expect(stateKey(sim), name).toBe(before);
      if (st.a) {
        st.a.setPopulated(p.static, 0, 1, false);
        expect(stateKey(sim), name).not.toBe(before);
      }
    }
  });
});
