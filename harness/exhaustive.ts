// Bounded exhaustive mode (`allocspec check --exhaustive --depth N`):
// breadth-first search over every command list of up to N commands drawn
// from the exhaustive alphabet (harness/exhaustive/letters.ts), on the
// same Sim, pruning states already seen. Depth d's states are all found
// before any of depth d+1, so the first violation is a shortest
// counterexample (in commands of this alphabet), and a depth that
// completes proves every list of that length. This file is the search in
// one thread; harness/exhaustive/parallel.ts is the same search on worker
// threads (same states, same counterexample).
//
// Soundness (README, "Exhaustive mode"). A state is keyed by its canonical
// encoding (harness/statekey.ts), not by a hash, so pruning never merges
// two different states (`sound: true`; with `hashKeys` it is false). The
// rest of what is left out is exact: from each state only the letters that
// run as themselves there are run (any other falls back to one of those,
// or to nothing: its successor is one of theirs, at the same depth); the
// end of a finish is skipped only for a state whose end already passed;
// states where a teardown ended are finished too. No partial-order
// reduction: the README says why.
//
// Cost. Sim cannot be copied (contexts are live generators), so each
// transition re-executes its command list from boot; the same run then
// keys the state, lists its letters and (when new) finishes it: one replay
// per transition and nothing more (harness/exhaustive/expand.ts).
import { knownKey } from './findings.ts';
import type { InvariantName } from '../model/invariants.ts';
import { Violation } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { CheckConfig } from './config.ts';
import type { Counterexample } from './explore.ts';
import type { Cmd } from './commands.ts';
import { stateKey } from './statekey.ts';
import { writeFileSync } from 'node:fs';
import { fixtureOf, type CheckOptions, type Io } from './check.ts';
import { writeFixture } from './fixture.ts';
import { Expander } from './exhaustive/expand.ts';

export interface ExhaustiveOptions {
  depth: number;
  promise?: readonly InvariantName[];
  /** stop after this many distinct states (the result says so) */
  maxStates?: number;
  /** stop after this many seconds of search (the result says so; the
   *  depth proved is the last one completed). Wall-clock: the only place
   *  time decides anything, and it decides where to stop, never what is
   *  found up to there. */
  maxSeconds?: number;
  /** also run the letters the search skips and check that each one's
   *  successor (or violation) is one the run letters produced (tests) */
  verify?: boolean;
  /** add programs of four operations to the alphabet (exhaustive/letters.ts) */
  batch?: boolean;
  /** tests: the set the states' keys are kept in (read it afterwards) */
  keys?: Set<string>;
  /** keep a 128-bit hash of each state's key instead of the key (a
   *  fraction of the memory, for depths whose keys do not fit): the result
   *  is then not sound, and says how likely a collision was */
  hashKeys?: boolean;
}

/** Cumulative figures at the end of one depth (what `--depth d` reports). */
export interface ExhaustiveLevel {
  depth: number;
  states: number;
  transitions: number;
  seconds: number;
}

export interface ExhaustiveResult {
  policy: string;
  config: string;
  /** commands of the alphabet */
  alphabet: number;
  /** distinct states reached (after boot, and after each command list,
   *  including states where teardown ended) */
  states: number;
  /** commands executed from an expanded state (each a replay from boot) */
  transitions: number;
  /** letters not run because they do not run as themselves in that state:
   *  each one's successor is another letter's (harness/exhaustive/letters.ts) */
  skipped: number;
  /** every command list of up to this many commands is violation-free
   *  (including running each to quiescence and tearing down), known
   *  findings aside */
  provedDepth: number;
  /** the state cap or the time limit stopped the search before `depth` */
  truncated: boolean;
  /** states are keyed by their canonical encoding (no hash collisions) and
   *  nothing else is pruned; false when pruning could hide a state (keys
   *  hashed: `collisionBound` says how likely) */
  sound: boolean;
  /** with hashed keys: an upper bound on the probability that two of the
   *  states seen share a hash (n^2 / 2^129) */
  collisionBound?: number;
  /** wall-clock seconds, states and transitions per second (display only) */
  seconds?: number;
  statesPerSecond?: number;
  transitionsPerSecond?: number;
  /** cumulative figures at the end of each completed depth */
  levels: ExhaustiveLevel[];
  counterexample: Counterexample | null;
  /** known findings hit (the policy's documented ones): the shortest list
   *  to each; such a list goes no further, the search goes on */
  known: Counterexample[];
}

/** A state to expand: the letters (alphabet indices) that reach it, and
 *  the letters to run from it. */
interface Node {
  path: Uint8Array;
  next: Uint8Array;
}

export function exhaustive(policy: Policy<unknown>, cfg: CheckConfig, opts: ExhaustiveOptions): ExhaustiveResult {
  const t0 = performance.now(); // timing: display, and the optional time limit
  const maxStates = opts.maxStates ?? 2_000_000;
  const deadline = opts.maxSeconds === undefined ? Infinity : t0 + opts.maxSeconds * 1000;
  const ex = new Expander(policy, cfg, { promise: opts.promise ?? [], batch: opts.batch ?? false, hashKeys: opts.hashKeys ?? false });
  const { cmds, known } = ex;
  const res = emptyResult(policy, cfg, cmds.length, opts.hashKeys);
  const done = (): ExhaustiveResult => finalize(res, t0);
  const level = (d: number): void => {
    res.levels.push({ depth: d, states: res.states, transitions: res.transitions, seconds: Number(((performance.now() - t0) / 1000).toFixed(3)) });
  };
  const found = (path: Uint8Array, v: Violation): ExhaustiveResult => {
    res.counterexample = counterexample(cmds, path, v);
    return done();
  };
  /** a violation: fatal (the counterexample), or a known finding (noted,
   *  the shortest first; the list goes no further) */
  const hit = (path: Uint8Array, v: Violation): boolean => {
    const f = known.has(v.invariant) ? ex.finding(path, v) : null;
    if (!f) return true;
    if (!res.known.some((c) => knownKey(c) === f)) res.known.push({ ...counterexample(cmds, path, v), finding: f });
    return false;
  };
  /** states reached by command lists (each expanded and judged) */
  const seen = opts.keys ?? new Set<string>();

  // depth 0: boot (a violation at boot is a counterexample of no commands)
  const empty = new Uint8Array(0);
  const o0 = ex.run(empty);
  if (o0.v) return found(empty, o0.v);
  seen.add(o0.key);
  res.states++;
  const j0 = ex.judge(o0.sim, o0.key);
  if (j0.v && hit(empty, j0.v)) return found(empty, j0.v);
  level(0);
  let frontier: Node[] = [{ path: empty, next: j0.next }];
  for (let d = 1; d <= opts.depth; d++) {
    const next: Node[] = [];
    for (const node of frontier) {
      const path = new Uint8Array(d);
      path.set(node.path);
      res.skipped += cmds.length - node.next.length;
      if (opts.verify) verifySkipped(ex, node, path);
      for (const li of node.next) {
        if (performance.now() > deadline) {
          res.truncated = true;
          return done();
        }
        path[d - 1] = li;
        res.transitions++;
        const o = ex.run(path);
        if (o.v) {
          if (hit(path, o.v)) return found(path, o.v);
          continue;
        }
        if (seen.has(o.key)) continue;
        seen.add(o.key);
        res.states++;
        const j = ex.judge(o.sim, o.key);
        if (j.v && hit(path, j.v)) return found(path, j.v);
        if (j.next.length) next.push({ path: path.slice(), next: j.next });
        if (res.states >= maxStates) {
          res.truncated = true;
          return done();
        }
      }
    }
    res.provedDepth = d;
    level(d);
    if (!next.length) break; // nothing new: every longer list revisits
    frontier = next;
  }
  return done();
}

export function emptyResult(policy: Policy<unknown>, cfg: CheckConfig, alphabet: number, hashed = false): ExhaustiveResult {
  return {
    policy: policy.name,
    config: cfg.name,
    alphabet,
    states: 0,
    transitions: 0,
    skipped: 0,
    provedDepth: 0,
    truncated: false,
    sound: !hashed,
    ...(hashed ? { collisionBound: 0 } : {}),
    levels: [],
    counterexample: null,
    known: [],
  };
}

export function finalize(res: ExhaustiveResult, t0: number): ExhaustiveResult {
  const s = (performance.now() - t0) / 1000;
  res.seconds = Number(s.toFixed(3));
  res.statesPerSecond = s > 0 ? Math.round(res.states / s) : 0;
  res.transitionsPerSecond = s > 0 ? Math.round(res.transitions / s) : 0;
  if (res.collisionBound !== undefined) res.collisionBound = (res.states * res.states) / 2 ** 129;
  return res;
}

export function counterexample(cmds: readonly Cmd[], path: Uint8Array, v: Violation): Counterexample {
  const commands = [...path].map((i) => cmds[i]!);
  return { invariant: v.invariant, message: v.detail, seed: 0, path: `exhaustive:depth=${commands.length}`, commands };
}

/** verify: every skipped letter's successor (or the invariant it breaks)
 *  is one a run letter reaches from the same state, or the state itself. */
function verifySkipped(ex: Expander, node: Node, path: Uint8Array): void {
  const d = path.length;
  const outcome = (li: number): string => {
    path[d - 1] = li;
    try {
      return stateKey(ex.replay(path, d));
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      return `!${e.invariant}`;
    }
  };
  const run = new Set(node.next);
  const ok = new Set<string>([stateKey(ex.replay(node.path, d - 1))]);
  for (const li of node.next) ok.add(outcome(li));
  for (let li = 0; li < ex.cmds.length; li++) {
    if (run.has(li)) continue;
    if (!ok.has(outcome(li))) {
      const at = [...node.path].map((i) => JSON.stringify(ex.cmds[i])).join(', ');
      throw new Error(`exhaustive verify: skipped letter ${JSON.stringify(ex.cmds[li])} after [${at}] reaches a state no run letter reaches`);
    }
  }
}

/** How checkExhaustive runs each search. */
export interface CheckExhaustiveOptions {
  maxStates?: number;
  maxSeconds?: number;
  /** worker threads (harness/exhaustive/parallel.ts); 0: in this thread */
  workers?: number;
  batch?: boolean;
}

/** `allocspec check --exhaustive --depth N`: each policy under each
 *  configuration; a counterexample is saved as a fixture, as check does. */
export async function checkExhaustive(o: CheckOptions, io: Io, depth: number, maxStates?: number, more: CheckExhaustiveOptions = {}): Promise<number> {
  const t0 = performance.now(); // timing display only
  const workers = more.workers ?? 0;
  const results: (ExhaustiveResult & { fixture?: string })[] = [];
  let violated = false;
  const search = async (policy: Policy<unknown>, file: string | undefined, cfg: CheckConfig): Promise<ExhaustiveResult> => {
    const so: ExhaustiveOptions = {
      depth,
      promise: o.promise,
      ...(maxStates ? { maxStates } : {}),
      ...(more.maxSeconds ? { maxSeconds: more.maxSeconds } : {}),
      ...(more.batch ? { batch: true } : {}),
    };
    if (workers < 1) return exhaustive(policy, cfg, so);
    const { exhaustiveParallel } = await import('./exhaustive/parallel.ts');
    return exhaustiveParallel(policy, cfg, { ...so, workers, ...(file ? { file } : {}) });
  };
  for (const { policy, file } of o.policies) {
    const promise = [...new Set([...(policy.promises ?? []), ...o.promise])];
    for (const cfg of o.configs) {
      const r: ExhaustiveResult & { fixture?: string } = await search(policy, file, cfg);
      results.push(r);
      const cx = r.counterexample;
      if (!o.quiet) {
        io.err(
          `${policy.name} [${cfg.name}]: ${r.states} states, ${r.transitions} transitions, ${r.seconds} s, ` +
            (cx
              ? `${cx.invariant} violated at depth ${cx.commands.length}\n`
              : `violation-free to depth ${r.provedDepth}${r.truncated ? ' (stopped by the state cap or time limit)' : ''}${r.known.length ? `, known findings: ${r.known.map((k) => `${k.invariant} (${k.commands.length} commands)`).join(', ')}` : ''}\n`),
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
  if (o.json) writeFileSync(o.json, JSON.stringify({ version: 1, mode: 'exhaustive', depth, workers, elapsedSeconds: Number(secs.toFixed(2)), results }, null, 2) + '\n');
  return violated ? 1 : 0;
}
