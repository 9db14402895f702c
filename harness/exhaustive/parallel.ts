// The exhaustive search on worker threads: the same breadth-first search
// as exhaustive() (harness/exhaustive.ts), with the replays done by
// workers (./worker.ts) and the set of states seen kept here, in the
// main thread, the only place a state is declared new.
//
// Each depth's transitions are numbered in the order the one-thread search
// runs them (frontier order, then alphabet order) and handed out in chunks
// in that order. Results come back in any order, so nothing depends on
// which arrives first: a new state's path is the lowest-numbered
// transition that reached it (whoever claimed it first), the next depth's
// frontier is sorted by it, and when violations stop the search, every
// chunk handed out is finished and the lowest-numbered violation is the
// counterexample (a violation of finishing a state counts at that state's
// number). Every transition numbered below it was handed out before it,
// so it is the one the one-thread search stops at: same states per
// completed depth, same counterexample (test/harness/exhaustive.test.ts).
//
// Workers run with a large young generation: the engine allocates much
// and keeps little, and the default one makes the collector copy each
// live run many times over (a quarter of the time, measured).
import { knownKey } from '../findings.ts';
import { Worker } from 'node:worker_threads';
import { Violation } from '../../spec/kernel/types.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { CheckConfig } from '../config.ts';
import type { Counterexample } from '../explore.ts';
import { counterexample, emptyResult, finalize, type ExhaustiveOptions, type ExhaustiveResult } from './result.ts';
import { Expander } from './expand.ts';
import { SleepSets, type SleepNode, type Step } from './sleep.ts';
import type { FromWorker, ToWorker, WireViolation, WorkerInit } from './worker.ts';

export interface ParallelOptions extends ExhaustiveOptions {
  /** worker threads (at least 1) */
  workers: number;
  /** the policy's file, when it is not built in (workers load it) */
  file?: string;
  /** transitions per chunk handed to a worker */
  chunk?: number;
  /** young generation of each worker, MB */
  youngMb?: number;
}

/** A worker and its one outstanding request. */
class Peer {
  private waiting: { ok: (m: FromWorker) => void; fail: (e: Error) => void } | null = null;
  private failed: Error | null = null;
  readonly ready: Promise<unknown>;
  constructor(readonly w: Worker) {
    this.ready = this.next();
    w.on('message', (m: FromWorker) => {
      const q = this.waiting;
      this.waiting = null;
      if (!q) return;
      if (m.t === 'error') q.fail(new Error(`exhaustive worker: ${m.error}`));
      else q.ok(m);
    });
    const die = (e: Error): void => {
      this.failed = e;
      const q = this.waiting;
      this.waiting = null;
      q?.fail(e);
    };
    w.on('error', die);
    w.on('exit', (code) => die(new Error(`exhaustive worker exited (code ${code})`)));
  }
  private next(): Promise<FromWorker> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((ok, fail) => (this.waiting = { ok, fail }));
  }
  call(m: ToWorker): Promise<FromWorker> {
    const p = this.next();
    this.w.postMessage(m);
    return p;
  }
}

interface NewState {
  /** the lowest-numbered transition that reached it, and its path */
  job: number;
  path: Uint8Array;
  next: Uint8Array | null;
}

export async function exhaustiveParallel(policy: Policy<unknown>, cfg: CheckConfig, opts: ParallelOptions): Promise<ExhaustiveResult> {
  const t0 = performance.now(); // timing: display, and the optional time limit
  const maxStates = opts.maxStates ?? 2_000_000;
  const deadline = opts.maxSeconds === undefined ? Infinity : t0 + opts.maxSeconds * 1000;
  const chunk = opts.chunk ?? 32;
  const promise = [...(opts.promise ?? [])];
  const batch = opts.batch ?? false;
  const exactKeys = opts.exactKeys ?? false;
  const footprints = opts.sleepSets ?? true;
  const init: WorkerInit = { policy: opts.file ?? policy.name, cfg, promise, batch, exactKeys, footprints };
  const peers = Array.from(
    { length: Math.max(1, opts.workers) },
    () =>
      new Peer(
        new Worker(new URL('./worker-entry.mjs', import.meta.url), {
          workerData: init,
          resourceLimits: { maxYoungGenerationSizeMb: opts.youngMb ?? 128 },
        }),
      ),
  );
  try {
    return await search();
  } finally {
    await Promise.all(peers.map((p) => p.w.terminate()));
  }

  async function search(): Promise<ExhaustiveResult> {
    const ex = new Expander(policy, cfg, { promise, batch, exactKeys, footprints });
    const { cmds, known } = ex;
    const res = emptyResult(policy, cfg, cmds.length, !exactKeys);
    const book = new SleepSets(cmds.length);
    const done = (): ExhaustiveResult => finalize(res, t0, book);
    const seen = opts.keys ?? new Set<string>();
    const wire = (v: WireViolation): Violation => new Violation(v.invariant, v.detail);
    const level = (d: number): void => {
      res.levels.push({ depth: d, states: res.states, transitions: res.transitions, seconds: Number(((performance.now() - t0) / 1000).toFixed(3)) });
    };

    // depth 0, here
    const empty = new Uint8Array(0);
    const o0 = ex.run(empty);
    if (o0.v) {
      res.counterexample = counterexample(cmds, empty, o0.v);
      return done();
    }
    seen.add(o0.key);
    res.states++;
    const j0 = ex.judge(o0.sim, o0.key);
    if (j0.v) {
      const f = ex.finding(empty, j0.v);
      if (!f) {
        res.counterexample = counterexample(cmds, empty, j0.v);
        return done();
      }
      res.known.push({ ...counterexample(cmds, empty, j0.v), finding: f });
    }
    await Promise.all(peers.map((p) => p.ready));
    level(0);

    let frontier: SleepNode[] = [SleepSets.root(empty, j0.next, cmds.length)];
    for (let d = 1; d <= opts.depth; d++) {
      /** each transition's outcome, by its number (sleep sets, after the depth) */
      const steps: Step[] = [];
      const fresh = new Map<string, NewState>();
      /** violations: a transition's (at its number), or finishing a new
       *  state's (at that state's number, known once the depth is done) */
      const hits: { job: number; path: Uint8Array; v: Violation; key?: string }[] = [];
      let stop = false;
      // the transitions of this depth, numbered, in chunks
      let node = 0;
      let letter = 0;
      let job = 0;
      const take = (): { job: number; path: Uint8Array; node: number }[] => {
        const out: { job: number; path: Uint8Array; node: number }[] = [];
        while (out.length < chunk && node < frontier.length) {
          const f = frontier[node]!;
          if (letter === 0) res.skipped += f.skipped;
          if (letter < f.next.length) {
            const path = new Uint8Array(d);
            path.set(f.path);
            path[d - 1] = f.next[letter]!;
            out.push({ job: job++, path, node });
            letter++;
          }
          if (letter >= f.next.length) {
            node++;
            letter = 0;
          }
        }
        return out;
      };
      const serve = async (peer: Peer): Promise<void> => {
        for (;;) {
          if (performance.now() > deadline) {
            res.truncated = true;
            stop = true;
          }
          if (stop) return;
          const jobs = take();
          if (!jobs.length) return;
          res.transitions += jobs.length;
          const k = (await peer.call({ t: 'run', paths: jobs.map((j) => j.path) })) as Extract<FromWorker, { t: 'keys' }>;
          const claim = k.out.map((o, i) => {
            const { job: n, path, node: at } = jobs[i]!;
            // a state seen before this depth matters only if letters slept there
            const keep = typeof o === 'string' && (fresh.has(o) || !seen.has(o) || book.masked(o));
            steps[n] = { node: at, letter: path[d - 1]!, fp: book.fps.intern(k.fps[i]!), key: keep ? o : null };
            if (typeof o !== 'string') {
              hits.push({ job: n, path, v: wire(o) });
              if (!known.has(o.invariant)) stop = true;
              return false;
            }
            const had = fresh.get(o);
            if (had) {
              if (n < had.job) Object.assign(had, { job: n, path });
              return false;
            }
            if (seen.has(o)) return false;
            seen.add(o);
            res.states++;
            fresh.set(o, { job: n, path, next: null });
            if (res.states >= maxStates) {
              res.truncated = true;
              stop = true;
            }
            return true;
          });
          const j = (await peer.call({ t: 'fresh', fresh: claim })) as Extract<FromWorker, { t: 'judged' }>;
          j.out.forEach((o, i) => {
            if (!o) return;
            const key = k.out[i] as string;
            fresh.get(key)!.next = o.next;
            if (o.v) {
              hits.push({ job: -1, path: empty, v: wire(o.v), key });
              if (!known.has(o.v.invariant)) stop = true;
            }
          });
        }
      };
      await Promise.all(peers.map(serve));
      // a finishing violation counts at its state's lowest number
      for (const h of hits) {
        if (h.key === undefined) continue;
        const s = fresh.get(h.key)!;
        h.job = s.job;
        h.path = s.path;
      }
      hits.sort((a, b) => a.job - b.job);
      // which known finding each hit is (a new violation of a known
      // finding's invariant is fatal too)
      const named = hits.map((h) => ({ h, f: ex.finding(h.path, h.v) }));
      const fatal = named.find((x) => !x.f)?.h;
      for (const { h, f } of named) {
        if (fatal && h.job > fatal.job) break;
        if (f && !res.known.some((c: Counterexample) => knownKey(c) === f)) res.known.push({ ...counterexample(cmds, h.path, h.v), finding: f });
      }
      if (fatal) {
        res.counterexample = counterexample(cmds, fatal.path, fatal.v);
        return done();
      }
      if (stop) return done(); // truncated: the depth is not proved
      res.provedDepth = d;
      level(d);
      if (d === opts.depth) break;
      const enabled = new Map<string, Uint8Array>();
      for (const [key, s] of fresh) enabled.set(key, s.next!);
      frontier = book.next(frontier, steps, enabled);
      if (!frontier.length) break;
    }
    return done();
  }
}
