// The worker side of the pool (harness/workers.ts): one task per message,
// one answer per task. A task is a job or chunk of a check (harness/
// job.ts runJob), a fixture to run once (replay's watchdog), or a
// policy's saved counterexamples to replay (check's regression first).
import { parentPort } from 'node:worker_threads';
import { Violation } from '../spec/kernel/types.ts';
import type { Io } from './io.ts';
import { policyOf, runJob } from './job.ts';
import { replaySaved } from './regress.ts';
import { ACTIVE, asPolicyError, BEAT, RUNS, watchedPolicy } from './watch.ts';
import { failure, timing, type FromWorker, type Regressed, type ToWorker } from './workers.ts';

/** Run a fixture's commands once with the hooks watched; a violation is no
 *  error here (replay reports it), anything else is. */
async function probe(file: string, b: Int32Array, id: number): Promise<void> {
  const { loadFixture } = await import('./replay.ts');
  const { isInvariant } = await import('../model/invariants.ts');
  const { runCommands } = await import('./explore.ts');
  const { fixture, policy } = await loadFixture(file);
  Atomics.add(b, BEAT, 1);
  Atomics.store(b, ACTIVE, id + 1);
  try {
    runCommands(watchedPolicy(policy, b), fixture.config, fixture.commands, { promise: fixture.promise.filter(isInvariant) });
  } catch (e) {
    const err = asPolicyError(policy, e);
    if (!(err instanceof Violation)) throw err;
  }
}

/** Replay a policy's saved counterexamples with its hooks watched, as
 *  check does in its own thread without a watchdog (harness/regress.ts). */
async function regress(policyRef: string, fixturesDir: string, b: Int32Array, id: number): Promise<Regressed> {
  const { policy, file } = await policyOf(policyRef);
  const lines: Regressed['lines'] = [];
  const io: Io = { out: (s) => void lines.push([0, s]), err: (s) => void lines.push([1, s]), tty: false };
  Atomics.add(b, BEAT, 1);
  Atomics.store(b, ACTIVE, id + 1);
  const regressions = replaySaved([{ policy: watchedPolicy(policy, b), ...(file ? { file } : {}) }], fixturesDir, io);
  return { lines, regressions };
}

/** The worker side: one task per message, one answer per task. */
export function serve(): void {
  parentPort!.on('message', async (m: ToWorker) => {
    let msg: FromWorker;
    const b = m.beacon;
    timing(`task ${m.id} received`);
    try {
      if ('probe' in m) {
        await probe(m.probe, b, m.id);
        msg = { ok: true };
      } else if ('regress' in m) {
        msg = { ok: true, regressed: await regress(m.regress.policyRef, m.regress.fixturesDir, b, m.id) };
      } else {
        const { policy, file } = await policyOf(m.spec.policyRef);
        Atomics.store(b, RUNS, 0);
        Atomics.add(b, BEAT, 1);
        Atomics.store(b, ACTIVE, m.id + 1);
        msg = { ok: true, record: runJob(m.spec, policy, file, b) };
      }
    } catch (e) {
      msg = failure(e);
    }
    Atomics.store(b, ACTIVE, 0);
    timing(`task ${m.id} answered`);
    parentPort!.postMessage({ ...msg, id: m.id });
  });
}
