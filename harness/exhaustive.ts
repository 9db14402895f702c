// Bounded exhaustive mode (`allocspec check --exhaustive --depth N`):
// breadth-first search over every command list up to N commands drawn from
// the command table's alphabet (harness/commands.ts), on the same Sim,
// pruning states already seen. A state is keyed by a canonical encoding of
// the whole engine state (harness/statekey.ts: every list, counter, slab
// pool, grace period, pending work, and each running context's function
// stack with the labels of every step it took, which show the values it
// read), not by a hash, so pruning never merges two different states:
// "violation-free to depth N" then holds for every command list up to N.
// BFS order makes the first violation a shortest counterexample (in
// commands of this alphabet). Sim cannot be copied (contexts are live
// generators), so each node is re-executed from boot: cost ~ transitions x
// depth.
import type { InvariantName } from '../model/invariants.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { alphabetOf, type Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import type { Counterexample } from './explore.ts';
import { stateKey } from './statekey.ts';
import { Sim, genCtx } from './sim.ts';
import { writeFileSync } from 'node:fs';
import { fixtureOf, type CheckOptions, type Io } from './check.ts';
import { writeFixture } from './fixture.ts';
import { knownObservations } from './shrink.ts';

export interface ExhaustiveOptions {
  depth: number;
  promise?: readonly InvariantName[];
  /** stop after this many distinct states (the result says so) */
  maxStates?: number;
}

export interface ExhaustiveResult {
  policy: string;
  config: string;
  /** commands of the alphabet */
  alphabet: number;
  /** distinct states reached (after boot, and after each command list) */
  states: number;
  /** commands executed from an expanded state */
  transitions: number;
  /** every command list of up to this many commands is violation-free
   *  (including running each to quiescence and tearing down) */
  provedDepth: number;
  /** the state cap stopped the search before `depth` */
  truncated: boolean;
  /** states are keyed by their canonical encoding (no hash collisions) */
  sound: boolean;
  /** wall-clock seconds and states per second (display only) */
  seconds?: number;
  statesPerSecond?: number;
  counterexample: Counterexample | null;
}

export function exhaustive(policy: Policy<unknown>, cfg: CheckConfig, opts: ExhaustiveOptions): ExhaustiveResult {
  const promise = opts.promise ?? [];
  const maxStates = opts.maxStates ?? 2_000_000;
  const tolerate = knownObservations(policy);
  const fresh = (): Sim => {
    const sim = new Sim(policy, cfg, { promise, tolerate });
    sim.k.keepHistory = true;
    return sim;
  };
  const cmds = alphabetOf(genCtx(policy, cfg));
  const res: ExhaustiveResult = { policy: policy.name, config: cfg.name, alphabet: cmds.length, states: 1, transitions: 0, provedDepth: 0, truncated: false, sound: true, counterexample: null };
  const seen = new Set<string>();
  /** replay a command list; the violation (exec or finish) if any */
  const replay = (list: readonly Cmd[], andFinish: boolean): { sim: Sim; v: Violation | null; at: number } => {
    const sim = fresh();
    let i = 0;
    try {
      for (; i < list.length; i++) {
        if (sim.over) break;
        sim.exec(list[i]!);
      }
      if (andFinish) sim.finish();
      return { sim, v: null, at: i };
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      return { sim, v: e, at: Math.min(i + 1, list.length) };
    }
  };
  const found = (list: readonly Cmd[], v: Violation): void => {
    res.counterexample = { invariant: v.invariant, message: v.detail, seed: 0, path: `exhaustive:depth=${list.length}`, commands: [...list] };
  };
  // depth 0: boot, then finish
  const root = replay([], true);
  if (root.v) {
    found([], root.v);
    return res;
  }
  seen.add(stateKey(replay([], false).sim));
  let frontier: Cmd[][] = [[]];
  for (let d = 1; d <= opts.depth; d++) {
    const next: Cmd[][] = [];
    for (const prefix of frontier) {
      for (const c of cmds) {
        const list = [...prefix, c];
        res.transitions++;
        const r = replay(list, false);
        if (r.v) {
          found(list.slice(0, r.at), r.v);
          return res;
        }
        if (r.sim.over) continue;
        const key = stateKey(r.sim);
        if (seen.has(key)) continue;
        seen.add(key);
        res.states++;
        // the new state, run to quiescence and torn down
        const f = replay(list, true);
        if (f.v) {
          found(list, f.v);
          return res;
        }
        next.push(list);
        if (res.states >= maxStates) {
          res.truncated = true;
          return res;
        }
      }
    }
    res.provedDepth = d;
    if (!next.length) break; // nothing new: every longer list revisits
    frontier = next;
  }
  return res;
}

/** `allocspec check --exhaustive --depth N`: each policy under each
 *  configuration; a counterexample is saved as a fixture, as check does. */
export function checkExhaustive(o: CheckOptions, io: Io, depth: number, maxStates?: number): number {
  const t0 = performance.now(); // timing display only
  const results: (ExhaustiveResult & { fixture?: string })[] = [];
  let violated = false;
  for (const { policy, file } of o.policies) {
    const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
    for (const cfg of o.configs) {
      const r: ExhaustiveResult & { fixture?: string } = exhaustive(policy, cfg, { depth, promise: o.promise, ...(maxStates ? { maxStates } : {}) });
      results.push(r);
      const cx = r.counterexample;
      if (!o.quiet) {
        io.err(
          `${policy.name} [${cfg.name}]: ${r.states} states, ${r.transitions} transitions, ` +
            (cx ? `${cx.invariant} violated at depth ${cx.commands.length}\n` : `violation-free to depth ${r.provedDepth}${r.truncated ? ' (state cap reached)' : ''}\n`),
        );
      }
      if (cx) {
        violated = true;
        const { fixture, trace } = fixtureOf(policy, file, cfg, promise, cx);
        r.fixture = writeFixture(o.fixturesDir, fixture);
        io.out(`\n${policy.name}: ${cx.invariant} violated (config ${cfg.name}, shortest: ${cx.commands.length} commands)\n`);
        io.out(`  saved: ${r.fixture}\n  replay: npm run replay -- ${r.fixture}\n\n`);
        io.out(trace);
        break;
      }
    }
  }
  io.out('\npolicy / config: states, transitions, result\n');
  for (const r of results) {
    const cx = r.counterexample;
    io.out(`  ${r.policy} [${r.config}]: ${r.states} states, ${r.transitions} transitions, ${cx ? `${cx.invariant} at depth ${cx.commands.length}` : `proved to depth ${r.provedDepth}${r.truncated ? ' (capped)' : ''}`}\n`);
  }
  const secs = (performance.now() - t0) / 1000;
  io.out(`${secs.toFixed(1)} s\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ version: 1, mode: 'exhaustive', depth, elapsedSeconds: Number(secs.toFixed(2)), results }, null, 2) + '\n');
  return violated ? 1 : 0;
}
