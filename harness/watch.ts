// What a job publishes while it runs, for the thread that watches it: a
// heartbeat bumped on every step of the run and of a policy hook, the hook
// running now, and the runs started. JavaScript cannot interrupt a busy
// loop in its own thread, so a job runs in a worker and the main thread
// terminates it when the heartbeat stops (--hook-timeout), naming the hook
// from this shared memory. The clock drives the watchdog and the progress
// display only, never a verdict.
import type { Policy } from '../spec/policies/policy.ts';
import { Violation } from '../spec/kernel/types.ts';
import { PolicyError, UsageError } from './errors.ts';

/** Slots of the Int32Array over a job's SharedArrayBuffer. */
export const BEAT = 0;
export const HOOK = 1;
export const RUNS = 2;
/** job number + 1 while a job runs, 0 when the worker is idle */
export const ACTIVE = 3;
export const SLOTS = 4;

/** Hook ids as published in HOOK; 0: no hook runs (harness code, or an
 *  irq_work, kworker or RCU callback the policy queued). */
export const HOOKS = ['', 'init', 'alloc', 'free', 'freeRcu', 'destroy'] as const;

export function beacon(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
}

type Gen = Generator<unknown, unknown, unknown>;

/** The policy with every hook publishing to `b`: each step of a hook bumps
 *  the heartbeat with the hook's id in HOOK for as long as the step runs;
 *  each init (one per run, shrink runs included) bumps RUNS. */
export function watchedPolicy<S>(policy: Policy<S>, b: Int32Array): Policy<S> {
  // plain stores on the hot path: the watcher only needs to see them
  // within seconds, not in order (Atomics cost a locked instruction a step)
  const within = <T>(id: number, f: () => T): T => {
    const prev = b[HOOK]!;
    b[HOOK] = id;
    b[BEAT]!++;
    try {
      return f();
    } finally {
      b[HOOK] = prev;
    }
  };
  // one plain iterator per hook call (a wrapping generator would add a
  // generator frame to every step of every hook)
  const drive = (id: number, g: Gen): Gen => new Driven(b, id, g) as unknown as Gen;
  const wrap = (name: (typeof HOOKS)[number]): unknown => {
    const f = (policy as unknown as Record<string, (...a: unknown[]) => Gen>)[name];
    if (typeof f !== 'function') return f;
    const id = HOOKS.indexOf(name);
    return (...a: unknown[]) => drive(id, within(id, () => f.apply(policy, a)));
  };
  const init = policy.init;
  return {
    ...policy,
    init: (...a: Parameters<Policy<S>['init']>) => {
      Atomics.add(b, RUNS, 1);
      // every step of the run beats too (the model's per-step check, when
      // there is one, still runs): only code that stops stepping is stopped
      const k = a[0];
      const check = k.onStep;
      k.onStep = check ? (x) => (b[BEAT]!++, check(x)) : () => void b[BEAT]!++;
      return within(HOOKS.indexOf('init'), () => init.apply(policy, a));
    },
    alloc: wrap('alloc'),
    free: wrap('free'),
    destroy: wrap('destroy'),
    ...(policy.freeRcu ? { freeRcu: wrap('freeRcu') } : {}),
  } as Policy<S>;
}

/** A hook's generator, each step of it run with the hook's id in HOOK and
 *  a heartbeat. Ending it early (a violation thrown above it) returns the
 *  hook's generator, as a delegating generator would. */
class Driven {
  constructor(
    private readonly b: Int32Array,
    private readonly id: number,
    private readonly g: Gen,
  ) {}
  private step(f: () => IteratorResult<unknown, unknown>): IteratorResult<unknown, unknown> {
    const b = this.b;
    const prev = b[HOOK]!;
    b[HOOK] = this.id;
    b[BEAT]!++;
    try {
      return f();
    } finally {
      b[HOOK] = prev;
    }
  }
  next(v?: unknown): IteratorResult<unknown, unknown> {
    const b = this.b;
    const prev = b[HOOK]!;
    b[HOOK] = this.id;
    b[BEAT]!++;
    try {
      return this.g.next(v);
    } finally {
      b[HOOK] = prev;
    }
  }
  throw(e: unknown): IteratorResult<unknown, unknown> {
    return this.step(() => this.g.throw(e));
  }
  return(v: unknown): IteratorResult<unknown, unknown> {
    return this.g.return(v);
  }
  [Symbol.iterator](): this {
    return this;
  }
}

/** An error a run threw that is neither a violation nor already a policy or
 *  usage error: it came from code the policy runs outside its hooks (an
 *  irq_work, kworker or RCU callback it queued), since hooks and init name
 *  their own. One line, exit 2, instead of a crash. */
export function asPolicyError(policy: { name: string }, e: unknown): unknown {
  if (e instanceof Violation || e instanceof PolicyError || e instanceof UsageError) return e;
  if (e instanceof RangeError && /call stack/.test(e.message)) return new PolicyError(policy.name, 'callback', 'overflowed the stack', e);
  return new PolicyError(policy.name, 'callback', 'threw outside its hooks (in an irq_work, kworker or RCU callback it queued)', e);
}
