// What runs in the contexts the harness starts: a BPF program (task level
// or perf-event NMI), and the map teardown (htab_map_free frees what the map
// still owns, then bpf_mem_alloc_destroy()).
import type { Context } from '../spec/kernel/context.ts';
import { rcuReadLock, rcuReadLockTrace, rcuReadUnlock, rcuReadUnlockTrace } from '../spec/kernel/rcupdate.ts';
import type { Gen } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { AbstractAllocator } from '../model/allocator.ts';
import type { Op } from './cmd.ts';
import { Obj } from '../spec/kernel/obj.ts';
import { scheduleTimeout } from '../spec/kernel/sched.ts';
import { Violation } from '../spec/kernel/types.ts';
import { PolicyError } from './errors.ts';
import { acts } from '../spec/kernel/events.ts';
import { saw } from './coverage.ts';

/** Run a policy hook; anything it throws that is not a Violation names the
 *  policy, the hook and the step. An iterator rather than a wrapping
 *  generator: every step of a hook passes through it, and a plain next()
 *  resumes one generator frame fewer. */
export function hook<T>(x: Context, policy: Policy<unknown>, name: string, g: () => Gen<T>): Gen<T> {
  return new Hook(x, policy, name, g) as unknown as Gen<T>;
}

class Hook<T> {
  private body: Gen<T> | null = null;
  constructor(
    private readonly x: Context,
    private readonly policy: Policy<unknown>,
    private readonly name: string,
    private readonly g: () => Gen<T>,
  ) {}
  next(): IteratorResult<string, T> {
    try {
      return (this.body ??= this.g()).next();
    } catch (e) {
      if (e instanceof Violation || e instanceof PolicyError) throw e;
      const x = this.x;
      throw new PolicyError(this.policy.name, this.name, `threw at step ${x.k.steps} (${x.label} on cpu${x.cpu} in ${x.fn})`, e);
    }
  }
  return(v: T): IteratorResult<string, T> {
    return this.body ? this.body.return(v) : { done: true, value: v };
  }
  throw(e: unknown): IteratorResult<string, T> {
    if (!this.body) throw e;
    return this.body.throw(e);
  }
  [Symbol.iterator](): this {
    return this;
  }
}

export interface ProgArgs {
  op: Op;
  /** alloc: how many; free: the objects, taken from the map at start */
  count: number;
  objs: Obj[];
  size: number;
  /** alignment asked for (policies that declare `requests`) */
  align?: number;
  sleepable: boolean;
  /** told what each allocation returned (the liveness probe) */
  onAlloc?: (obj: Obj | null) => void;
  /** lookup: hold the object this long before reading it (see bpfProg) */
  hold?: number;
}

/** A BPF program: one RCU read-side critical section around one call
 *  (a sleepable one: an RCU-tasks-trace section, and a normal one too when
 *  the policy's contract has it take bpf_rcu_read_lock()). */
export function* bpfProg(x: Context, policy: Policy<unknown>, s: unknown, model: AbstractAllocator, a: ProgArgs): Gen<void> {
  // a syscall (policy.callers) takes no RCU read-side section and may sleep
  const syscall = policy.callers === 'syscall';
  const rcuToo = a.sleepable && policy.sleepableReadersTakeRcu === true;
  x.sleepable = a.sleepable || syscall;
  if (a.sleepable && !syscall) rcuReadLockTrace(x);
  if (!syscall && (!a.sleepable || rcuToo)) rcuReadLock(x);
  switch (a.op) {
    case 'alloc':
      for (let i = 0; i < a.count; i++) {
        const obj = yield* hook(x, policy, 'alloc', () => policy.alloc(x, s, a.size, a.align));
        if (obj !== null && !(obj instanceof Obj)) {
          throw new PolicyError(policy.name, 'alloc', `at step ${x.k.steps} (${x.label} on cpu${x.cpu})`, `returned ${String(obj)}; expected an Obj from the slab or null`);
        }
        if (obj) model.allocated(x, obj, a.size);
        else model.allocFailed(x);
        a.onAlloc?.(obj);
      }
      break;
    case 'free':
      for (const obj of a.objs) yield* hook(x, policy, 'free', () => policy.free(x, s, obj));
      break;
    case 'free_rcu':
      // bpf_mem_free_rcu(): RCU readers may still hold the object
      for (const obj of a.objs) yield* hook(x, policy, 'freeRcu', () => policy.freeRcu!(x, s, obj));
      break;
    case 'lookup': {
      // bpf_map_lookup_elem(): keep the pointer, read it later in this run
      const obj = a.objs[0]!;
      if (!model.owned.includes(obj)) {
        // freed since the program was started (it had not run yet): the
        // element is gone from the map, the lookup finds nothing
        x.op = 'lookup';
        yield x.k.labels ? `lookup ${obj.name}: not found` : '';
        break;
      }
      x.refs.push(obj);
      acts(x, 'lookup', obj, false);
      x.obj = obj;
      x.act = 'looked up';
      yield `lookup ${obj.name}`;
      if (a.hold !== undefined) {
        if (a.sleepable && !syscall && x.rcuDepth === 0) {
          // a sleepable program blocks while it holds the value
          // (bpf_copy_from_user() faulting a page in, a sleepable kfunc):
          // only its tasks-trace section stays open, so normal grace
          // periods, callbacks and other tasks on its CPU go on
          const gps = x.k.rcu.rcu.completed;
          yield* scheduleTimeout(x, a.hold, `sleeps holding ${obj.name}`);
          if (x.k.rcu.rcu.completed !== gps) saw(x.k, 'rcu-gp-under-sleeping-reader');
        } else {
          // inside rcu_read_lock() a program may not sleep: it does other
          // work (interrupts and NMIs still land between its steps)
          for (let i = 0; i < a.hold; i++) {
            acts(x, 'work', obj, false);
            yield x.k.labels ? `works holding ${obj.name}` : '';
          }
        }
      }
      acts(x, 'read', obj, false);
      x.obj = obj;
      x.act = 'read';
      yield `read ${obj.name}`;
      break;
    }
  }
  if (!syscall && (!a.sleepable || rcuToo)) rcuReadUnlock(x);
  if (a.sleepable && !syscall) rcuReadUnlockTrace(x);
  x.refs.length = 0;
}

/** The map is freed: its remaining elements go back through the free
 *  path (those programs on cpu0 were handed first, oldest first, then
 *  cpu1's, ...: an order that does not depend on how allocations on
 *  different CPUs interleaved, so the exhaustive mode's state need not
 *  hold that interleaving), then the allocator is destroyed. */
export function* mapFree(x: Context, policy: Policy<unknown>, s: unknown, model: AbstractAllocator): Gen<void> {
  x.fns.push('map_free');
  for (const obj of model.ownedByOrigin()) {
    model.released(obj);
    yield* hook(x, policy, 'free', () => policy.free(x, s, obj));
  }
  yield* hook(x, policy, 'destroy', () => policy.destroy(x, s));
  x.fns.pop();
}
