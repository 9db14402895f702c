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
// Soundness (README, "Exhaustive mode"). A state is keyed by a 128-bit hash
// of its canonical encoding (harness/statekey.ts: object ids renamed, who
// owns what per CPU of origin); the result bounds the chance that two
// states shared a hash as TLC does (`collisionBound`; `exactKeys` keeps the
// encodings). The rest of what is left out is exact: from each state only
// the letters that run as themselves there are run (any other falls back
// to one of those, or to nothing: its successor is one of theirs, at the
// same depth); a letter in the state's sleep set is not run (harness/
// exhaustive/sleep.ts: a letter independent of the one that led here and
// run before it from the state before reaches the same state the other
// way round), and a state reached again with a smaller sleep set runs what
// fell out; the end of a finish is skipped only for a state whose end
// already passed; states where a teardown ended are finished too.

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
import { counterexample, emptyResult, finalize, type ExhaustiveOptions, type ExhaustiveResult } from './exhaustive/result.ts';

export { counterexample, emptyResult, finalize, type ExhaustiveLevel, type ExhaustiveOptions, type ExhaustiveResult } from './exhaustive/result.ts';
import { expand } from './exhaustive/letters.ts';
import { SleepSets, type SleepNode, type Step } from './exhaustive/sleep.ts';

export function exhaustive(policy: Policy<unknown>, cfg: CheckConfig, opts: ExhaustiveOptions): ExhaustiveResult {
  const t0 = performance.now(); // timing: display, and the optional time limit
  const maxStates = opts.maxStates ?? 2_000_000;
  const deadline = opts.maxSeconds === undefined ? Infinity : t0 + opts.maxSeconds * 1000;
  const sleepOn = opts.sleepSets ?? true;
  const ex = new Expander(policy, cfg, { promise: opts.promise ?? [], batch: opts.batch ?? false, exactKeys: opts.exactKeys ?? false, footprints: sleepOn });
  const { cmds, known } = ex;
  const res = emptyResult(policy, cfg, cmds.length, !opts.exactKeys);
  const book = new SleepSets(cmds.length);
  const done = (): ExhaustiveResult => finalize(res, t0, book);
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
  let frontier: SleepNode[] = [SleepSets.root(empty, j0.next, cmds.length)];
  for (let d = 1; d <= opts.depth; d++) {
    const steps: Step[] = [];
    /** states first reached at this depth: the letters that run as themselves there */
    const fresh = new Map<string, Uint8Array>();
    for (let ni = 0; ni < frontier.length; ni++) {
      const node = frontier[ni]!;
      const path = new Uint8Array(d);
      path.set(node.path);
      res.skipped += node.skipped;
      if (opts.verify && node.skipped) verifySkipped(ex, path);
      for (const li of node.next) {
        if (performance.now() > deadline) {
          res.truncated = true;
          return done();
        }
        path[d - 1] = li;
        res.transitions++;
        const o = ex.run(path);
        const fp = book.fps.intern(o.fp);
        if (o.v) {
          if (hit(path, o.v)) return found(path, o.v);
          steps.push({ node: ni, letter: li, fp, key: null });
          continue;
        }
        if (seen.has(o.key)) {
          steps.push({ node: ni, letter: li, fp, key: fresh.has(o.key) || book.masked(o.key) ? o.key : null });
          continue;
        }
        steps.push({ node: ni, letter: li, fp, key: o.key });
        seen.add(o.key);
        res.states++;
        const j = ex.judge(o.sim, o.key);
        if (j.v && hit(path, j.v)) return found(path, j.v);
        fresh.set(o.key, j.next);
        if (res.states >= maxStates) {
          res.truncated = true;
          return done();
        }
      }
    }
    res.provedDepth = d;
    level(d);
    if (d === opts.depth) break;
    frontier = book.next(frontier, steps, fresh);
    if (!frontier.length) break; // nothing new: every longer list revisits
  }
  return done();
}


/** verify: every letter that does not run as itself from the state path
 *  reaches leads (or breaks the invariant it breaks) where a letter that
 *  runs as itself leads, or stays put. */
function verifySkipped(ex: Expander, path: Uint8Array): void {
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
  const here = ex.replay(path, d - 1);
  const run = new Set(expand(here, ex.cmds));
  const ok = new Set<string>([stateKey(here)]);
  for (const li of run) ok.add(outcome(li));
  for (let li = 0; li < ex.cmds.length; li++) {
    if (run.has(li)) continue;
    if (!ok.has(outcome(li))) {
      const at = [...path.slice(0, d - 1)].map((i) => JSON.stringify(ex.cmds[i])).join(', ');
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
