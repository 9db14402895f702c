// prove's reduction is sound on small scenarios: DPOR with sleep sets
// reaches the same final states, with the same verdicts, as plain DFS
// under the same bounds (the states: harness/statekey.ts, taken when a
// scenario's last action has run, before the end-of-run judges), while
// running fewer executions. A step whose footprint is unknown counts as
// touching everything; a design that hides state from its footprints yet
// declares them exact is what this comparison catches (must-fail).
import { describe, expect, it } from 'vitest';
import { findPolicy } from '../../spec/policies/index.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Scenario } from '../../spec/policies/scenario.ts';
import { definePolicy } from '../../spec/policies/policy.ts';
import { bpfMa } from '../../spec/policies/bpf-ma.ts';
import { deepAllocBulkClampsAfterLoop } from '../../spec/policies/deep-alloc-bulk-clamps-after-loop.ts';
import { search, type SearchOptions } from '../../harness/prove/search.ts';
import { conflicts } from '../../harness/prove/footprints.ts';
import { scenarioConfig, validateScenario } from '../../harness/prove/scenarios.ts';
import { stateKey } from '../../harness/statekey.ts';
import { knownFindings, knownObservations } from '../../harness/shrink.ts';
import { DEEP } from '../helpers/tier.ts';
import { auditFootprints } from '../../harness/footprint.ts';
import type { Cmd } from '../../harness/commands.ts';

interface Outcome {
  states: Set<string>;
  verdicts: Set<string>;
  executions: number;
  complete: boolean;
}

function explore(policy: Policy<unknown>, s: Scenario, dpor: boolean, preemptions: number, more: Partial<SearchOptions> = {}): Outcome {
  const states = new Set<string>();
  const verdicts = new Set<string>();
  const every = new Set(['NeverOnTwoLists', 'Conservation', 'FreeCntMatchesList', 'ActiveIsZero', 'NoKernelWarn', 'TeardownBarriers', 'NoLeakAtTeardown', 'ExclusiveOwnership', 'RcuSafety', 'NoDeadlock', 'RefillProgress', 'NoReuseBeforeGracePeriod', 'FreedObjectsReturnToSlab']);
  const r = search(policy, scenarioConfig(s), validateScenario(policy, s, 'test'), {
    preemptions,
    interrupts: null,
    dpor,
    maxExecutions: 200_000,
    promise: [],
    tolerate: knownObservations(policy),
    // every verdict is recorded and the search goes on: the sets compare
    known: new Set([...knownFindings(policy), ...every]),
    onFinal: (run) => {
      run.sim.k.keepHistory = true;
      states.add(stateKey(run.sim));
    },
    onExecution: (_run, v) => verdicts.add(v ? `${v.invariant}: ${v.detail}` : 'holds'),
    ...more,
  });
  return { states, verdicts, executions: r.executions, complete: r.complete };
}

const NMI_SCENARIO: Scenario = { name: 'nmi', window: 'test', cpus: [[{ op: 'alloc', as: 'a' }, { op: 'free', obj: 'a' }], [{ op: 'alloc', as: 'b' }]], nmi: [{ cpu: 0, op: 'free', obj: 'b' }] };

const CASES: { policy: string; bound: number; s: Scenario }[] = [
  { policy: 'bpf-ma', bound: 1, s: NMI_SCENARIO },
  {
    policy: 'bug/unit-free-ignores-active',
    bound: 1,
    s: { name: 'nmi', window: 'test', cpus: [[{ op: 'alloc', as: 'a' }, { op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }], [{ op: 'alloc', as: 'c' }]], nmi: [{ cpu: 0, op: 'free', obj: 'b' }] },
  },
  {
    policy: 'bpf-ma-upstream',
    bound: 1,
    s: { name: 'rcu', window: 'test', cpus: [[{ op: 'alloc', as: 'a' }, { op: 'free_rcu', obj: 'a' }], [{ op: 'alloc', as: 'b' }]] },
  },
  // the deep tier (npm run test:deep) adds these
  {
    policy: 'bpf-ma',
    bound: 2,
    s: NMI_SCENARIO,
  },
  {
    policy: 'reuse-after-rcu-gp',
    bound: 1,
    s: { name: 'teardown', window: 'test', cpus: [[{ op: 'alloc', as: 'a' }, { op: 'free', obj: 'a' }], [{ op: 'alloc', as: 'b' }]], teardown: true },
  },
  {
    // a coarse family: every action touches everything
    policy: 'slub-pca',
    bound: 1,
    s: { name: 'cross', window: 'test', cpus: [[{ op: 'alloc', as: 'a' }], [{ op: 'alloc', as: 'b' }, { op: 'free', obj: 'a' }]] },
  },
];

describe('prove: DPOR reaches what plain DFS reaches', () => {
  for (const c of DEEP ? CASES : CASES.slice(0, 3)) {
    it(`${c.policy} ${c.s.name}, preemptions <= ${c.bound}`, () => {
      const p = findPolicy(c.policy)!;
      const dfs = explore(p, c.s, false, c.bound);
      const dpor = explore(p, c.s, true, c.bound);
      expect(dfs.complete && dpor.complete).toBe(true);
      // not vacuous: several executions; canonical object ids (the state
      // key renames them) may merge every final state into one, and the
      // comparison then says DPOR reaches that one state with the same
      // verdicts
      expect(dfs.executions).toBeGreaterThan(1);
      expect(dfs.states.size).toBeGreaterThan(0);
      expect([...dfs.states].filter((k) => !dpor.states.has(k)).length, 'final states DPOR missed').toBe(0);
      expect([...dpor.states].filter((k) => !dfs.states.has(k)).length, 'final states outside the bound').toBe(0);
      expect([...dpor.verdicts].sort()).toEqual([...dfs.verdicts].sort());
      // a coarse family's actions all conflict: nothing to reduce
      if (p.footprints === 'exact') expect(dpor.executions).toBeLessThan(dfs.executions);
      else expect(dpor.executions).toBeLessThanOrEqual(dfs.executions);
    });
  }
});

describe('prove: an unknown footprint counts as touching everything', () => {
  it('writes-everything conflicts with every footprint, even an empty one', () => {
    const all = { r: [], w: [], ra: false, wa: true };
    expect(conflicts(all, { r: [], w: [], ra: false, wa: false })).toBe(true);
    expect(conflicts({ r: [1], w: [], ra: false, wa: false }, { r: [1], w: [], ra: false, wa: false })).toBe(false);
    expect(conflicts({ r: [1], w: [], ra: false, wa: false }, { r: [], w: [1], ra: false, wa: false })).toBe(true);
    expect(conflicts({ r: [], w: [], ra: true, wa: false }, { r: [], w: [7], ra: false, wa: false })).toBe(true);
  });

  // a design with a plain counter of its own, outside every accessor: the
  // order of two CPUs' allocations shows in it (which one got the number)
  type Leaky = { n: number; who: number[]; s: unknown };
  const leaky = (footprints: 'exact' | 'coarse'): Policy<unknown> =>
    definePolicy<Leaky>({
      ...(bpfMa as unknown as Policy<Leaky>),
      name: 'test/plain-counter',
      footprints,
      init: (k, o) => ({ n: 0, who: [], s: bpfMa.init(k, o) }),
      *alloc(x, s, size) {
        s.who.push(x.cpu * 10 + s.n++); // plain state, no footprint
        yield 'n++';
        return yield* bpfMa.alloc(x, s.s as never, size);
      },
      free: (x, s, o) => bpfMa.free(x, s.s as never, o),
      destroy: (x, s) => bpfMa.destroy(x, s.s as never),
    }) as Policy<unknown>;
  const two: Scenario = { name: 'two', window: 'test', cpus: [[{ op: 'alloc', as: 'a' }], [{ op: 'alloc', as: 'b' }]] };

  it('coarse: DPOR still reaches every final state of DFS', () => {
    const p = leaky('coarse');
    const dfs = explore(p, two, false, 1);
    const dpor = explore(p, two, true, 1);
    expect([...dfs.states].filter((k) => !dpor.states.has(k))).toEqual([]);
  });

  it('must fail: the same design declaring exact footprints loses final states (the comparison sees it)', () => {
    const p = leaky('exact');
    const dfs = explore(p, two, false, 1);
    const dpor = explore(p, two, true, 1);
    expect([...dfs.states].filter((k) => !dpor.states.has(k)).length).toBeGreaterThan(0);
  });
});

describe('the footprint audit on the schedules prove runs', () => {
  // harness/footprint.ts: before and after each step a digest of every
  // owner; a write outside the step's footprint fails. Here on the
  // command lists of prove's own first executions of each default scenario
  // (step-level schedules, NMIs placed at single steps) of every family
  // prove runs on; a coarse family's steps all count as touching everything.
  const families: Policy<unknown>[] = DEEP
    ? [...['bpf-ma', 'bpf-ma-upstream', 'reuse-after-rcu-gp', 'free-after-rcu-gp', 'slub-pca'].map((n) => findPolicy(n)!), deepAllocBulkClampsAfterLoop as Policy<unknown>]
    : [findPolicy('bpf-ma')!, findPolicy('bpf-ma-upstream')!];
  for (const p of families) {
    it(p.name, () => {
      const scenarios = p.scenarios ?? [];
      expect(scenarios.length).toBeGreaterThanOrEqual(3);
      // (the gate leaves out the long refill: 400 steps of 200 objects' digests)
      for (const s of DEEP ? scenarios : scenarios.filter((x) => !x.sizes)) {
        const name = p.name;
        const cfg = scenarioConfig(s);
        const lists: Cmd[][] = [];
        search(p, cfg, validateScenario(p, s, 'test'), {
          preemptions: 2,
          interrupts: null,
          dpor: true,
          maxExecutions: DEEP ? 6 : 2,
          promise: [],
          tolerate: knownObservations(p),
          known: new Set(knownFindings(p)),
          onExecution: (run) => lists.push(run.cmds.slice()),
        });
        const r = auditFootprints(p, { ...cfg, maxCommands: 1000 }, lists);
        expect(r.failures.map((f) => `${f.event.op} in ${f.event.fns.join('>')} wrote ${f.unnamed.join(', ')}`), `${name} ${s.name}`).toEqual([]);
        if (p.footprints === 'exact') expect(r.coarse).toBeLessThan(r.steps / 50);
        else expect(r.coarse).toBe(r.steps);
        expect(r.steps).toBeGreaterThan(10);
      }
    });
  }
});
