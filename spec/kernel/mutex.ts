// linux/mutex.h: a sleeping lock. A task waiting for it sleeps, so tasks it
// preempted on its CPU (the holder among them) keep running; taking it in
// atomic context, or twice, is reported rather than hung on.
import type { Context } from './context.ts';
import { mightSleep } from './might_sleep.ts';
import { waitUntil } from './spinlock.ts';
import { type Gen, type Owner } from './types.ts';
import { acts, writes, report } from './events.ts';

export class Mutex {
  holder: Context | null = null;
  constructor(
    readonly owner: Owner,
    readonly field: string,
  ) {}
  /** `owner.field` (a step's footprint names it) */
  get name(): string {
    return `${this.owner.name}.${this.field}`;
  }
}

export function* mutexLock(x: Context, m: Mutex): Gen<void> {
  x.k.touch(x, m.owner, m.field);
  acts(x, 'mutex_lock', m, false);
  mightSleep(x, `mutex_lock(&${m.field})`);
  if (m.holder === x) report('self-deadlock', `${x.fn} (${x.label}) takes ${m.field} it already holds`);
  yield* waitUntil(x, () => m.holder === null, `mutex_lock(&${m.field})`, true, m);
  m.holder = x;
  writes(x, m);
  yield x.k.labels ? `mutex_lock(&${m.field})` : '';
}

export function* mutexUnlock(x: Context, m: Mutex): Gen<void> {
  x.k.touch(x, m.owner, m.field);
  x.op = 'mutex_unlock';
  writes(x, m);
  if (m.holder !== x) report('warn', `${x.fn} (${x.label}) unlocks ${m.field} it does not hold`);
  m.holder = null;
  yield x.k.labels ? `mutex_unlock(&${m.field})` : '';
}
