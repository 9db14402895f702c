// kernel/workqueue.c: queue_work_on(cpu, wq, work) queues on a named CPU
// (queue_work() in workqueue.ts queues on the caller's), and flush_work()
// waits until the work is neither pending nor running. One step to queue;
// flush_work() is a sleeping wait (might_sleep()).
import type { Context } from './context.ts';
import { waitUntil } from './spinlock.ts';
import type { Gen } from './types.ts';
import type { Work } from './workqueue.ts';

/** queue_work_on(): false (one step) when already pending. */
export function* queueWorkOn(x: Context, cpu: number, w: Work): Gen<boolean> {
  x.k.touch(x, w.owner, w.field);
  x.touched = w.name;
  if (w.pending) {
    yield x.k.labels ? `queue_work_on(${cpu}, &${w.field}) = false (pending)` : '';
    return false;
  }
  w.pending = true;
  w.cpu = cpu;
  w.unbound = false;
  x.k.pendingWork.add(w);
  yield x.k.labels ? `queue_work_on(${cpu}, &${w.field})` : '';
  return true;
}

/** flush_work(): wait for a queued or running work to finish. */
export function* flushWork(x: Context, w: Work): Gen<void> {
  x.k.touch(x, w.owner, w.field);
  x.touched = w.name;
  yield* waitUntil(x, () => !w.pending && w.running === null, `flush_work(${w.name})`);
}
