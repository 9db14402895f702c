// A worker thread of the parallel exhaustive search (./parallel.ts). It
// owns an Expander and no part of the search: for a chunk of command
// lists it replays each and returns the state key (or the violation); the
// main thread, which keeps the only set of states seen, answers which keys
// are new; the worker then judges those (the letters to run from each,
// and finishing each) and returns that. Live runs wait between the two.
import { parentPort, workerData } from 'node:worker_threads';
import type { InvariantName } from '../../model/invariants.ts';
import type { CheckConfig } from '../config.ts';
import { resolvePolicy } from '../policies.ts';
import type { Sim } from '../sim.ts';
import { Expander } from './expand.ts';

export interface WorkerInit {
  /** a built-in policy's name, or a policy file's absolute path */
  policy: string;
  cfg: CheckConfig;
  promise: InvariantName[];
  batch: boolean;
  exactKeys: boolean;
  footprints: boolean;
}

export interface WireViolation {
  invariant: InvariantName;
  detail: string;
}

export type ToWorker = { t: 'run'; paths: Uint8Array[] } | { t: 'fresh'; fresh: boolean[] };
export type FromWorker =
  | { t: 'ready' }
  | { t: 'keys'; out: (string | WireViolation)[]; fps: string[] }
  | { t: 'judged'; out: ({ next: Uint8Array; v: WireViolation | null } | null)[] }
  | { t: 'error'; error: string };

export async function serve(): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  const { policy } = await resolvePolicy(init.policy, '/');
  const ex = new Expander(policy, init.cfg, { promise: init.promise, batch: init.batch, exactKeys: init.exactKeys, footprints: init.footprints });
  let live: ({ sim: Sim; key: string } | null)[] = [];
  const send = (m: FromWorker): void => port.postMessage(m);
  port.on('message', (m: ToWorker) => {
    try {
      if (m.t === 'run') {
        const out: (string | WireViolation)[] = [];
        const fps: string[] = [];
        live = [];
        for (const path of m.paths) {
          const o = ex.run(path);
          fps.push(o.fp);
          if (o.v) {
            out.push({ invariant: o.v.invariant, detail: o.v.detail });
            live.push(null);
          } else {
            out.push(o.key);
            live.push({ sim: o.sim, key: o.key });
          }
        }
        send({ t: 'keys', out, fps });
      } else {
        const out = m.fresh.map((f, i) => {
          const l = live[i];
          if (!f || !l) return null;
          const j = ex.judge(l.sim, l.key);
          return { next: j.next, v: j.v && { invariant: j.v.invariant, detail: j.v.detail } };
        });
        live = [];
        send({ t: 'judged', out });
      }
    } catch (e) {
      send({ t: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
  send({ t: 'ready' });
}
