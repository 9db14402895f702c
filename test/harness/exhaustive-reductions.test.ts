// The exhaustive mode's reductions (issue 20): sleep sets, object ids
// renamed canonically, free and lookup letters that name the CPU whose
// object they take. Each must keep every state the search without it
// reaches; each has a control that shows the comparison can fail.
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import type { Cmd } from '../../harness/commands.ts';
import { exhaustive } from '../../harness/exhaustive.ts';
import { Footprints } from '../../harness/exhaustive/sleep.ts';
import { Sim } from '../../harness/sim.ts';
import { stateKey } from '../../harness/statekey.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { DEEP } from '../helpers/tier.ts';

/** depth of the state-set comparisons: 3 in the gate, 4 in npm run test:deep */
const D = DEEP ? 4 : 3;

const fixed = CONFIGS.fixed!;
const bpfMa = findPolicy('bpf-ma')!;
const alloc = (cpu: number): Cmd => ({ t: 'prog', cpu, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });
const free = (cpu: number, from?: number): Cmd => ({ t: 'prog', cpu, op: 'free', arg: 0, count: 1, sleepable: false, steps: 0, ...(from === undefined ? {} : { from }) });

function simAfter(list: Cmd[]): Sim {
  const sim = new Sim(bpfMa, fixed);
  sim.k.keepHistory = true;
  for (const c of list) sim.exec(c);
  return sim;
}

describe('sleep sets', () => {
  const independent = Footprints.prototype.independent;
  afterEach(() => {
    Footprints.prototype.independent = independent;
  });

  it(`cut transitions and keep every state, depth by depth to ${D} (bpf-ma, 2 CPUs)`, () => {
    const plainKeys = new Set<string>();
    const keys = new Set<string>();
    const plain = exhaustive(bpfMa, fixed, { depth: D, exactKeys: true, sleepSets: false, keys: plainKeys });
    const r = exhaustive(bpfMa, fixed, { depth: D, exactKeys: true, keys });
    expect(r.levels.map((l) => l.states)).toEqual(plain.levels.map((l) => l.states));
    expect(keys).toEqual(plainKeys);
    expect(r.transitions).toBeLessThan(plain.transitions);
    expect(r.slept).toBeGreaterThan(0);
    expect(plain.slept).toBe(0);
    // a state reached again with a smaller sleep set runs what fell out
    expect(r.revisits).toBeGreaterThan(0);
  });

  it('control: a relation that calls every pair independent loses states', () => {
    const plain = exhaustive(bpfMa, fixed, { depth: D, sleepSets: false });
    Footprints.prototype.independent = () => true;
    const wrong = exhaustive(bpfMa, fixed, { depth: D });
    expect(wrong.states).toBeLessThan(plain.states);
  });

  it('find the zoo variant the plain search finds, as short (bug/unit-free-ignores-active)', () => {
    const p = findPolicy('bug/unit-free-ignores-active')!;
    const a = exhaustive(p, fixed, { depth: 5, sleepSets: false });
    const b = exhaustive(p, fixed, { depth: 5 });
    expect(b.counterexample?.invariant).toBe(a.counterexample?.invariant);
    expect(b.counterexample?.commands).toHaveLength(a.counterexample!.commands.length);
    expect(b.provedDepth).toBe(a.provedDepth);
  });
});

describe('object ids renamed canonically', () => {
  it('two allocations on two CPUs in either order are one state', () => {
    const ab = simAfter([alloc(0), alloc(1)]);
    const ba = simAfter([alloc(1), alloc(0)]);
    // the objects themselves differ: each refill took a new object from
    // slab, in the other order
    const lists = (s: Sim): number[][] =>
      s.k.holders.map((h) => {
        const ids: number[] = [];
        for (let o = h.head(); o; o = o.next) ids.push(o.id);
        return ids;
      });
    expect(lists(ab)).not.toEqual(lists(ba));
    expect(stateKey(ab)).toBe(stateKey(ba));
  });

  it('control: who owns an object is kept (two on cpu0 is not one on each)', () => {
    expect(stateKey(simAfter([alloc(0), alloc(0)]))).not.toBe(stateKey(simAfter([alloc(0), alloc(1)])));
  });
});

describe('free and lookup letters name the CPU of origin', () => {
  it('`from` picks among the objects programs on that CPU were handed', () => {
    const sim = simAfter([alloc(0), alloc(1)]);
    const [mine] = sim.model.ownedFrom(1);
    sim.exec(free(0, 1));
    expect(sim.model.owned).not.toContain(mine);
    expect(sim.model.ownedFrom(0)).toHaveLength(1);
  });

  it('without `from` (generated commands, every fixture before it) object #0 is still the oldest of all', () => {
    const sim = simAfter([alloc(0), alloc(1)]);
    const oldest = sim.model.owned[0]!;
    sim.exec(free(1));
    expect(sim.model.owned).not.toContain(oldest);
    expect(sim.model.ownedFrom(1)).toHaveLength(1);
  });
});
