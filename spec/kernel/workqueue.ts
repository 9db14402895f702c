// kernel/workqueue.c: queue_work() returns false while the work is pending;
// a kworker (task level) runs it on the queuing CPU, or on another CPU when
// that one went offline; unbound works run anywhere.
import type { Context } from './context.ts';
import { waitUntil } from './spinlock.ts';
import { type Gen, type Owner } from './types.ts';
import { acts, writes, report } from './events.ts';

export class Work {
  pending = false;
  running: Context | null = null;
  cpu = 0;
  unbound = false;
  constructor(
    readonly owner: Owner,
    readonly field: string,
    readonly fn: (x: Context) => Gen<void>,
    readonly fnName: string,
  ) {}
  private ownerName: string | null = null;
  private fullName = '';
  /** `owner.field`, cached (read on every step that touches it) */
  get name(): string {
    if (this.ownerName !== this.owner.name) {
      this.ownerName = this.owner.name;
      this.fullName = `${this.ownerName}.${this.field}`;
    }
    return this.fullName;
  }
}

/** queue_work(wq, work): one atomic step. */
export function* queueWork(x: Context, w: Work, unbound = false): Gen<boolean> {
  x.k.touch(x, w.owner, w.field);
  acts(x, 'queue_work', w, false);
  if (w.pending) {
    yield x.k.labels ? `queue_work(&${w.field}) = false (pending)` : '';
    return false;
  }
  w.pending = true;
  w.cpu = x.cpu;
  w.unbound = unbound;
  writes(x, w);
  x.k.pendingWork.add(w);
  yield x.k.labels ? `queue_work(${unbound ? 'system_unbound_wq' : 'wq'}, &${w.field})` : '';
  return true;
}

export function* workPending(x: Context, w: Work): Gen<boolean> {
  x.k.touch(x, w.owner, w.field);
  acts(x, 'work_pending', w, false);
  yield x.k.labels ? `work_pending(&${w.field}) = ${w.pending}` : '';
  return w.pending;
}

/** cancel_work_sync(): drop a pending work, wait for a running one. */
export function* cancelWorkSync(x: Context, w: Work): Gen<boolean> {
  x.k.touch(x, w.owner, w.field);
  acts(x, 'cancel_work_sync', w, true);
  const was = w.pending;
  w.pending = false;
  x.k.pendingWork.delete(w);
  yield x.k.labels ? `cancel_work_sync(&${w.field})${was ? ': cancelled pending' : ''}` : '';
  yield* waitUntil(x, () => w.running === null, `cancel_work_sync(${w.name})`, true, w);
  return was;
}

/** Can work w run on cpu now (ignoring what the CPU is doing)? */
export function workRunsOn(x: { cpus: { online: boolean }[] }, w: Work, cpu: number): boolean {
  if (!w.pending || w.running) return false;
  if (w.unbound || !x.cpus[w.cpu]!.online) return x.cpus[cpu]!.online;
  return w.cpu === cpu;
}

/** The kworker side. */
export function* runWork(x: Context, w: Work): Gen<void> {
  if (w.owner.freed) {
    report('teardown-touch', `kworker ${w.fnName} on cpu${x.cpu} runs on ${w.name} after teardown freed it`);
  }
  // the first step of the worker took the item (the scheduler did, as it
  // started this context; a direct caller has it done here)
  writes(x, w);
  if (w.running !== x) {
    w.pending = false;
    w.running = x;
    x.k.pendingWork.delete(w);
  }
  x.work = w;
  x.fns.push(w.fnName);
  yield* w.fn(x);
  x.fns.pop();
  w.running = null;
  writes(x, w);
}
