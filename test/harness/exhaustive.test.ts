import { describe, expect, it } from 'vitest';
import { CONFIGS, type CheckConfig } from '../../harness/config.ts';
import { runCommands } from '../../harness/explore.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkExhaustive, exhaustive } from '../../harness/exhaustive.ts';
import { exhaustiveParallel } from '../../harness/exhaustive/parallel.ts';
import { exhaustiveAlphabet } from '../../harness/exhaustive/letters.ts';
import { knownFindings, knownObservations } from '../../harness/shrink.ts';
import { Sim, genCtx, type SimOptions } from '../../harness/sim.ts';
import { stateKey } from '../../harness/statekey.ts';
import type { Cmd } from '../../harness/commands.ts';
import { Violation } from '../../spec/kernel/types.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import { ZOO, findPolicy } from '../../spec/policies/index.ts';
import { DEEP } from '../helpers/tier.ts';

const one = { ...CONFIGS.fixed!, cpus: 1 };

/** One configuration of each policy family, at a depth its search ends in
 *  seconds: the cases the key test and the verify mode share. */
const FAMILIES: [string, CheckConfig, number][] = [
  ['bpf-ma', CONFIGS.fixed!, 3],
  ['bpf-ma', CONFIGS.rt!, 2],
  ['slub-pca', CONFIGS.fixed!, 2],
  ['percpu-chunk', CONFIGS.fixed!, 2],
  ['percpu-on-demand', CONFIGS.percpu!, 2],
];

/** A Sim booted and run through a list, keeping the history the state key reads. */
function simAfter(policy: Policy<unknown>, cfg: CheckConfig, list: Cmd[], opts: SimOptions = {}): Sim {
  const sim = new Sim(policy, cfg, opts);
  sim.k.keepHistory = true;
  for (const c of list) if (!sim.over) sim.exec(c);
  return sim;
}

/** The plain search the reductions are checked against: every letter of
 *  the alphabet from every new state, each list replayed from boot, every
 *  new state replayed again and finished in full (the search before this
 *  issue, with teardown-ended states and known findings as exhaustive()
 *  treats them). */
function reference(policy: Policy<unknown>, cfg: CheckConfig, depth: number) {
  const cmds = exhaustiveAlphabet(genCtx(policy, cfg));
  const known = new Set(knownFindings(policy, cfg.name));
  const tolerate = knownObservations(policy, [...known]);
  const run = (list: Cmd[], finish: boolean): { sim: Sim | null; v: Violation | null } => {
    try {
      const sim = simAfter(policy, cfg, list, { tolerate });
      if (finish) sim.finish();
      return { sim, v: null };
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      return { sim: null, v: e };
    }
  };
  const keys = new Set<string>();
  const knownHit = new Map<string, number>();
  /** states after each complete depth */
  const levels: number[] = [];
  const out = (provedDepth: number, cx: { invariant: string; length: number } | null) => ({ states: keys.size, levels, provedDepth, cx, keys, knownHit });
  const judge = (list: Cmd[], v: Violation | null): 'ok' | 'known' | 'stop' => {
    if (!v) return 'ok';
    if (!known.has(v.invariant)) return 'stop';
    if (!knownHit.has(v.invariant)) knownHit.set(v.invariant, list.length);
    return 'known';
  };
  const root = run([], false);
  keys.add(stateKey(root.sim!));
  const f0 = run([], true);
  if (judge([], f0.v) === 'stop') return out(0, { invariant: f0.v!.invariant, length: 0 });
  levels.push(keys.size);
  let frontier: Cmd[][] = [[]];
  for (let d = 1; d <= depth; d++) {
    const next: Cmd[][] = [];
    for (const prefix of frontier) {
      for (const c of cmds) {
        const list = [...prefix, c];
        const r = run(list, false);
        const j = judge(list, r.v);
        if (j === 'stop') return out(d - 1, { invariant: r.v!.invariant, length: d });
        if (j === 'known') continue;
        const key = stateKey(r.sim!);
        if (keys.has(key)) continue;
        keys.add(key);
        const f = run(list, true);
        if (judge(list, f.v) === 'stop') return out(d - 1, { invariant: f.v!.invariant, length: d });
        if (!r.sim!.over) next.push(list);
      }
    }
    levels.push(keys.size);
    if (!next.length) return out(d, null);
    frontier = next;
  }
  return out(depth, null);
}

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
    expect(r.truncated).toBe(false);
    expect(r.states).toBeGreaterThan(10);
    expect(r.transitions).toBeGreaterThan(r.states / 2);
    // nothing pruned on a guess; keys hashed, with the collision bound
    expect(r.sound).toBe(true);
    expect(r.keys).toBe('md5-128');
    expect(r.levels.map((l) => l.depth)).toEqual([0, 1, 2, 3, 4]);
    expect(r.levels[4]!.states).toBe(r.states);
  });

  // The search runs only the letters that run as themselves and memoises
  // the end of finish(): it must reach exactly the states, the proved depth
  // and the shortest counterexample of the plain search.
  describe('equals the plain search', () => {
    const cases: [string, CheckConfig, number][] = [
      ['bpf-ma', CONFIGS.fixed!, 3],
      ['bpf-ma', { ...CONFIGS.rt!, cpus: 1 }, 4],
      ['slub-pca', CONFIGS.fixed!, 3],
      ['percpu-chunk', CONFIGS.fixed!, 2],
      ['reuse-after-rcu-gp', CONFIGS.fixed!, 3],
      ['bug/unit-free-ignores-active', CONFIGS.fixed!, 5],
      // npm run test:deep adds the deepest one
      ...(DEEP ? ([['bug/drain-without-abort-reuse', one, 6]] as [string, CheckConfig, number][]) : []),
    ];
    for (const [name, cfg, depth] of cases) {
      it(`${name} [${cfg.name}${cfg.cpus === 1 ? ', 1 CPU' : ''}] to depth ${depth}`, () => {
        const p = findPolicy(name)!;
        const keys = new Set<string>();
        const r = exhaustive(p, cfg, { depth, keys, exactKeys: true });
        const ref = reference(p, cfg, depth);
        expect(r.provedDepth).toBe(ref.provedDepth);
        // the states of every complete depth (a search that stops at a
        // violation stops part-way through a depth, in an order of its own)
        expect(r.levels.map((l) => l.states)).toEqual(ref.levels);
        if (!ref.cx) {
          expect(r.states).toBe(ref.states);
          expect(keys).toEqual(ref.keys);
        }
        expect(r.counterexample && { invariant: r.counterexample.invariant, length: r.counterexample.commands.length }).toEqual(ref.cx);
        expect(Object.fromEntries(r.known.map((k) => [k.invariant, k.commands.length]))).toEqual(Object.fromEntries(ref.knownHit));
        expect(r.transitions).toBeLessThan(r.alphabet * r.states);
      });
    }
  });

  // The key is what pruning trusts: two command lists that reach the same
  // key must behave the same from there. For every pair of lists the
  // plain search meets at one key, random continuations must give the
  // same key after every command and the same verdict. (The key this
  // replaced failed this: a program's operation and objects, the callback
  // a softirq runs, a barrier's snapshot and fields outside registered
  // lists were not in it.)
  describe('states with one key behave alike', () => {
    const cases: [string, CheckConfig, number][] = [
      ...FAMILIES,
      ['bpf-ma-upstream', CONFIGS.fixed!, 2],
      ['reuse-after-rcu-gp', CONFIGS.fixed!, 2],
      ['bpf-ma-on-percpu-chunk', CONFIGS.fixed!, 2],
      // the percpu allocator beneath is reached with percpu units only
      ['control/bpf-ma-on-percpu-chunk-fixed', CONFIGS.percpu!, 2],
    ];
    for (const [name, cfg, depth] of cases) {
      it(`${name} [${cfg.name}] to depth ${depth}`, () => {
        const p = findPolicy(name)!;
        const cmds = exhaustiveAlphabet(genCtx(p, cfg));
        let seed = 1;
        const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
        const live = (list: Cmd[]): Sim => simAfter(p, cfg, list);
        const future = (list: Cmd[], w: Cmd[]): string[] => {
          const out: string[] = [];
          try {
            const sim = live(list);
            for (const c of w) {
              if (sim.over) break;
              sim.exec(c);
              out.push(stateKey(sim));
            }
            sim.finish();
            out.push('ok');
          } catch (e) {
            if (!(e instanceof Violation)) throw e;
            out.push(`!${e.invariant}`);
          }
          return out;
        };
        const first = new Map<string, Cmd[]>([[stateKey(live([])), []]]);
        let frontier: Cmd[][] = [[]];
        let pairs = 0;
        for (let d = 1; d <= depth; d++) {
          const next: Cmd[][] = [];
          for (const prefix of frontier) {
            for (const c of cmds) {
              const list = [...prefix, c];
              let key: string;
              try {
                const sim = live(list);
                if (sim.over) continue;
                key = stateKey(sim);
              } catch (e) {
                if (e instanceof Violation) continue;
                throw e;
              }
              const other = first.get(key);
              if (!other) {
                first.set(key, list);
                next.push(list);
                continue;
              }
              // a sample of the pairs, spread over the depths
              if (pairs >= 150 || rnd() > 0.2) continue;
              const w = Array.from({ length: 4 }, () => cmds[Math.floor(rnd() * cmds.length)]!);
              pairs++;
              expect(future(list, w), `${JSON.stringify(other)} and ${JSON.stringify(list)} share a key, then differ after ${JSON.stringify(w)}`).toEqual(future(other, w));
            }
          }
          frontier = next;
        }
        expect(pairs).toBeGreaterThan(10);
      });
    }
  });

  it('every letter it skips leads where a letter it runs leads (verify mode)', () => {
    for (const [name, cfg, depth] of [...FAMILIES, ['bpf-ma', CONFIGS.buckets!, 2] as const]) {
      const r = exhaustive(findPolicy(name)!, cfg, { depth, verify: true });
      expect(r.provedDepth).toBe(depth);
      expect(r.skipped).toBeGreaterThan(0);
    }
    // programs of four operations (the batch letters)
    expect(exhaustive(findPolicy('bpf-ma')!, CONFIGS.fixed!, { depth: 2, verify: true, batch: true }).provedDepth).toBe(2);
  });

  // Worker threads must not change what is found: same states at every
  // completed depth, same counterexample (commands and all), same known
  // findings, whatever order the results come back in.
  it('finds on worker threads what it finds in one thread', async () => {
    for (const [name, cfg, depth] of [
      ['bpf-ma', CONFIGS.fixed!, 3],
      ['bug/unit-free-ignores-active', CONFIGS.fixed!, 5],
      ...(DEEP ? ([['bug/pcpu-hint-from-partial-scan', CONFIGS.fixed!, 4]] as const) : []),
    ] as const) {
      const p = findPolicy(name)!;
      const one = exhaustive(p, cfg, { depth });
      const par = await exhaustiveParallel(p, cfg, { depth, workers: 2, chunk: 7 });
      expect(par.levels.map((l) => [l.depth, l.states, l.transitions])).toEqual(one.levels.map((l) => [l.depth, l.states, l.transitions]));
      expect(par.provedDepth).toBe(one.provedDepth);
      expect(par.counterexample?.commands).toEqual(one.counterexample?.commands);
      expect(par.counterexample?.invariant).toBe(one.counterexample?.invariant);
      expect(par.known.map((k) => k.commands)).toEqual(one.known.map((k) => k.commands));
      expect(par.sound).toBe(true);
    }
  }, 180_000);

  it('writes the figures to the JSON report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocspec-exh-'));
    const io = { out: () => {}, err: () => {}, tty: false };
    const opts = { policies: [{ policy: findPolicy('bpf-ma')! }], configs: [one], seed: 1, runs: 1, promise: [], json: join(dir, 'r.json'), fixturesDir: dir, quiet: true };
    expect(await checkExhaustive(opts, io, 3, undefined, { workers: 1 })).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(r.mode).toBe('exhaustive');
    expect(r.results[0]).toMatchObject({ policy: 'bpf-ma', sound: true, provedDepth: 3, truncated: false, counterexample: null });
    for (const f of ['states', 'transitions', 'seconds', 'statesPerSecond', 'transitionsPerSecond']) expect(typeof r.results[0][f]).toBe('number');
    expect(r.results[0].levels).toHaveLength(4);
  }, 60_000);

  it('with hashed keys finds the states exact keys find, and bounds the chance of a collision', () => {
    const a = exhaustive(findPolicy('bpf-ma')!, one, { depth: 4, exactKeys: true });
    const b = exhaustive(findPolicy('bpf-ma')!, one, { depth: 4 });
    expect(b.levels.map((l) => [l.states, l.transitions])).toEqual(a.levels.map((l) => [l.states, l.transitions]));
    expect(a.keys).toBe('exact');
    expect(a.collisionBound).toBeUndefined();
    expect(b.keys).toBe('md5-128');
    // TLC's n(m - n) / 2^128 and the birthday bound n^2 / 2^129
    expect(b.collisionBound).toBeCloseTo((b.states * (b.transitions + 1 - b.states)) / 2 ** 128, 40);
    expect(b.collisionBirthday).toBeCloseTo((b.states * b.states) / 2 ** 129, 40);
    expect(b.collisionBirthday).toBeLessThan(1e-20);
  });

  it('reports where the time limit stopped it', () => {
    const r = exhaustive(findPolicy('bpf-ma')!, CONFIGS.fixed!, { depth: 8, maxSeconds: 0.5 });
    expect(r.truncated).toBe(true);
    expect(r.provedDepth).toBeLessThan(8);
    expect(r.levels.at(-1)!.depth).toBe(r.provedDepth);
  });

  // Each zoo variant in its configuration: exhaustive mode finds one of the
  // variant's declared invariants, with the shortest list of the alphabet
  // (pinned here). bug/free-rcu-tasks-trace-drops-chain needs one program
  // that frees four objects (the `batch` letters; 7 one-object commands
  // otherwise). The two slowest (a 5-command list, 10k-45k states) are in
  // the bench (bench/exhaustive.ts), which runs every variant.
  describe('finds every zoo variant', () => {
    const SHORTEST: Record<string, number> = {
      'bug/unit-free-ignores-active': 4,
      'bug/destroy-skips-barriers': 2,
      'bug/pca-free-fail-leaks': 3,
      'bug/pca-array-not-freed': 0,
      'bug/pca-bulk-returns-freed': 3,
      'bug/pca-refill-leaks': 3,
      'bug/unit-alloc-restores-early': 2,
      'bug/destroy-drains-before-sync': 1,
      'bug/unit-alloc-refills-only-after-pop': 3,
      'bug/free-rcu-tasks-trace-drops-chain': 3,
      'bug/mem-alloc-forgets-header': 1,
      'bug/mem-free-double-header': 1,
      'bug/cache-idx-no-upper-bound': 1,
      'bug/deferred-free-frees-copy-first': 2,
      'bug/alloc-gfp-kernel': 1,
      'bug/pcpu-hint-from-partial-scan': 2,
      'bug/pcpu-alloc-skips-relocate': 1,
      'bug/pcpu-depopulate-keeps-pagep': 2,
      'bug/pcpu-populate-one-cpu': 1,
      'bug/pcpu-head-merge-keeps-free-size': 2,
      'bug/pcpu-ignores-align': 1,
      'bug/pcpu-kill-keeps-pages': 1,
      'bug/pcpu-split-keeps-tail': 1,
      'bug/pcpu-alloc-keeps-entry-free': 1,
      'bug/pcpu-free-skips-static': 1,
      'bug/upstream-free-mem-alloc-skips-free-by-rcu-barrier': 3,
      'bug/upstream-extra-rcu-keeps-stale-tail': 4,
      'bug/upstream-cache-free-rcu-calls-unit-free': 3,
      'bug/sheaves-bulk-free-leaks-remote': 1,
      'bug/sheaves-null-barn': 1,
      'bug/sheaves-slab-count': 2,
      // 5 since map_free frees by CPU of origin (the teardown's order no
      // longer depends on how allocations interleaved): the kfree_nolock()
      // over a full main sheaf needs one more allocation first
      'bug/nolock-kfree-allows-spin': 5,
      'bug/htab-free-without-call-rcu': 3,
      'bug/pcpu-free-skips-relocate': 2,
      'bug/percpu-free-by-ksize': 3,
      'bug/pca-destroy-flushes-online-only': 1,
      'bug/pca-cpu-dead-flushes-own-cpu': 1,
      'bug/pca-destroy-keeps-cache': 0,
    };
    // bug/do-call-rcu-skips-tasks-trace: none up to depth 4 (a sleepable
    // program inside its section across a free, free_bulk, a grace period
    // and the callback); bug/sheaves-pfmemalloc-cached: none up to depth 4
    // (pages to the watermark, a reclaim-path allocation, its free, and a
    // GFP_KERNEL allocation)
    // Out of the exhaustive alphabet's reach at depth 4 (the random search
    // finds them: test/zoo): bug/upstream-free-rcu-clears-in-progress-first
    // and bug/upstream-alloc-flags-forgets-hint (none in 4 commands, 40 s),
    // bug/upstream-free-bulk-to-own-cpu (a producer/consumer pair: the
    // handoff command is not a letter), bug/irq-work-raise-own-queue (none
    // in 5: the stall needs a task preempted inside irq_work_raise(), a
    // step budget the letters do not take)
    const BENCH_ONLY = [
      'bug/drain-without-abort-reuse',
      'bug/upstream-destroy-without-draining',
      'bug/do-call-rcu-skips-tasks-trace',
      'bug/sheaves-pfmemalloc-cached',
      'bug/upstream-free-rcu-clears-in-progress-first',
      'bug/upstream-alloc-flags-forgets-hint',
      'bug/upstream-free-bulk-to-own-cpu',
      'bug/irq-work-raise-own-queue',
    ];
    it('lists every variant (tested here or in the bench)', () => {
      expect(ZOO.map((p) => p.name).sort()).toEqual([...Object.keys(SHORTEST), ...BENCH_ONLY].sort());
    });
    // the gate: the variants found within 3 commands outside the costly
    // percpu-buckets configuration; npm run test:deep: every one
    const inGate = (q: (typeof ZOO)[number]): boolean => DEEP || (SHORTEST[q.name]! <= 3 && q.bug!.config !== 'percpu-buckets');
    for (const p of ZOO.filter((q) => !BENCH_ONLY.includes(q.name) && inGate(q))) {
      it(p.name, () => {
        const cfg = CONFIGS[p.bug!.config ?? 'fixed']!;
        const r = exhaustive(p, cfg, { depth: Math.max(4, SHORTEST[p.name]!), batch: p.name === 'bug/free-rcu-tasks-trace-drops-chain' });
        expect(p.bug!.invariants).toContain(r.counterexample?.invariant);
        expect(r.counterexample!.commands).toHaveLength(SHORTEST[p.name]!);
        expect(r.provedDepth).toBe(SHORTEST[p.name]! - 1 < 0 ? 0 : SHORTEST[p.name]! - 1);
        expect(runCommands(p, cfg, r.counterexample!.commands).violation?.invariant).toBe(r.counterexample!.invariant);
      });
    }
  });
});
