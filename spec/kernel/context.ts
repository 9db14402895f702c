import type { Gen, Level, ObjAct } from './types.ts';
import type { Obj } from './obj.ts';
import type { Kernel } from './kernel.ts';
import type { Footprint, Loc } from './events.ts';

import { shared } from './types.ts';

const ids = shared('contextIds', () => ({ next: 0 }));
/** A context's footprint arrays until a recorded step needs them (most
 *  contexts never do: exploring records nothing) */
export const NO_LOCS: Loc[] = [];
export function resetContextIds(): void {
  ids.next = 0;
}

/** One execution context on one CPU: a BPF program, an irq_work handler,
 *  a kworker, an RCU callback in softirq, a syscall, an NMI program. */
export class Context implements Footprint {
  readonly id = ids.next++;
  /** kernel function names, outermost first (maintained by kfunc) */
  readonly fns: string[] = [];
  /** steps this context has taken (1 during its first step's reader) */
  nsteps = 0;
  /** the depth in fns from which this step entered kernel functions (the
   *  ones entered at fns[entered..] are new this step; fns.length: none).
   *  Kept by kfunc; set back after each step by whoever reads it (the
   *  coverage situations, harness/coverage.ts) */
  entered = 0;
  /** a kworker's work item (spec/kernel/workqueue.ts runWork) */
  work: import('./workqueue.ts').Work | null = null;
  // ---- this step's footprint (spec/kernel/events.ts), reset as each
  // step begins (sched.ts step()) ----
  /** the owners this step read and wrote, as its primitives record them
   *  (the first nrd / nwr entries: spec/kernel/events.ts Footprint) */
  /** the step's footprint is recorded (sched.ts step(): k.record is set) */
  rec = false;
  rd: Loc[] = NO_LOCS;
  nrd = 0;
  wr: Loc[] = NO_LOCS;
  nwr = 0;
  /** the primitive taking this step ('' = the spec's own code) */
  op = '';
  /** the owner the primitive acted on */
  target: Loc | null = null;
  /** the value an atomic exchange found (atomic_xchg()'s old value) */
  old = 0;
  /** what the step's own code named as touched (text, no primitive) */
  touchedText = '';
  /** what the last step touched (a list head, a counter), for traces: the
   *  primitive's target, or what the spec's own code named */
  get touched(): string {
    return this.touchedText !== '' ? this.touchedText : this.target !== null ? this.target.name : '';
  }
  set touched(v: string) {
    this.touchedText = v;
  }
  /** the object the last step acted on, and what it did to it (data for
   *  traces; set by the primitives, cleared by the tracer) */
  obj: Obj | null = null;
  act: ObjAct | null = null;
  gen: Gen<unknown> | null = null;
  done = false;
  /** set while the context can only wait; null when it can run */
  waitFor: (() => boolean) | null = null;
  waitWhat = '';
  /** waiting in a sleeping wait: tasks beneath it on the CPU may run */
  sleeping = false;
  /** a counter the design lets only an NMI find taken, found taken by this
   *  context (spec/kernel/atomic.ts localIncReturn; judged by the model
   *  when this context's allocation fails) */
  foundTaken: import('./atomic.ts').Cell | null = null;
  /** in scheduleTimeout(): the ticks left before its timer wakes it (0:
   *  no timer pending; sched.ts tick() counts them down) */
  sleepTicks = 0;
  /** RCU read-side nesting: normal RCU and RCU tasks trace */
  rcuDepth = 0;
  traceDepth = 0;
  /** bumped each time a read-side critical section begins */
  rcuSection = 0;
  /** when the open outermost section of each flavour began: a stamp of
   *  Rcu.sections (data for the model's RCU judgements, which compare it
   *  with the stamp of a program's release; meaningless while closed) */
  rcuSince = 0;
  traceSince = 0;
  /** objects this context looked up and may still read (RCU reader refs) */
  refs: Obj[] = [];
  /** IRQ flag of the CPU when a hardirq pushed this context */
  savedIrqsOff = false;
  /** true for BPF programs: they use the allocator and block teardown */
  isProg = false;
  /** a program's operation (alloc, free, free_rcu, lookup; '' for other
   *  contexts): data for traces */
  progOp = '';
  /** a sleepable BPF program (may use GFP_KERNEL; an RCU tasks trace reader) */
  sleepable = false;
  /** raw spinlocks held: each disables preemption */
  spinlocks = 0;
  /** preempt_disable() nesting */
  preemptCount = 0;
  /** the labels of every step taken, when the kernel keeps them (the
   *  exhaustive mode's state key: each label shows the values read) */
  history: string[] | null = null;
  /** what it was started to do beyond its label (a program's operation
   *  and objects, the irq_work, work or callback it runs), set when the
   *  kernel keeps history: the exhaustive mode's state key (its arguments
   *  are no step's label) */
  started = '';
  /** in rcu_barrier*(): the last callback sequence number it waits for
   *  (-1 otherwise; the exhaustive mode's state key) */
  barrierSeq = -1;
  constructor(
    readonly k: Kernel,
    readonly cpu: number,
    readonly level: Level,
    /** stable, human label: "prog2", "irq_work", "kworker", "softirq" */
    readonly label: string,
  ) {}
  get fn(): string {
    return this.fns.length ? this.fns[this.fns.length - 1]! : this.label;
  }
  get runnable(): boolean {
    return !this.done && (this.waitFor === null || this.waitFor());
  }
}

/** The step iterator of a kernel function: pushes its name on the first
 *  step, pops it when the body returns. A plain object rather than a
 *  wrapping generator, so each step resumes one generator frame fewer. */
class KFunc<R> {
  private started = false;
  constructor(
    private readonly x: Context,
    private readonly name: string,
    private readonly body: Gen<R>,
  ) {}
  next(): IteratorResult<string, R> {
    if (!this.started) {
      this.started = true;
      const x = this.x;
      if (x.fns.length < x.entered) x.entered = x.fns.length;
      x.fns.push(this.name);
    }
    const r = this.body.next();
    if (r.done === true) this.x.fns.pop();
    return r;
  }
  return(v: R): IteratorResult<string, R> {
    return this.body.return(v);
  }
  throw(e: unknown): IteratorResult<string, R> {
    return this.body.throw(e);
  }
  [Symbol.iterator](): this {
    return this;
  }
}

/** A primitive of one atomic step, already taken: its effect ran at the
 *  call, and the `yield*` that delegates to it is the step (the label),
 *  then gives the result. Cheaper than a generator object, which a
 *  one-step primitive would otherwise make on every call; called as
 *  `yield* prim(...)` the two are the same step. The iterator is its own
 *  result object ({ done, value }): whoever drives it reads a result
 *  before asking for the next, as yield* and the scheduler do. */
class OneStep<T> {
  done: boolean;
  value: string | T;
  constructor(
    label: string,
    private readonly result: T,
    private taken = false,
  ) {
    this.done = taken;
    this.value = taken ? result : label;
  }
  next(): IteratorResult<string, T> {
    if (this.taken) {
      this.done = true;
      this.value = this.result;
    }
    this.taken = true;
    return this as unknown as IteratorResult<string, T>;
  }
  return(v: T): IteratorResult<string, T> {
    this.taken = this.done = true;
    this.value = v;
    return this as unknown as IteratorResult<string, T>;
  }
  throw(e: unknown): IteratorResult<string, T> {
    throw e;
  }
  [Symbol.iterator](): this {
    return this;
  }
}

/** The step a one-step primitive returns: `return oneStep(label, result)`. */
export function oneStep<T>(label: string, value: T): Gen<T>;
export function oneStep(label: string): Gen<void>;
export function oneStep<T>(label: string, value?: T): Gen<T> {
  return new OneStep(label, value as T) as unknown as Gen<T>;
}

/** A primitive that took no step (no context to take it in: boot). */
export function noStep<T>(value: T): Gen<T> {
  return new OneStep('', value, true) as unknown as Gen<T>;
}

/** Wrap a generator as a named kernel function so traces can say which
 *  function each step belongs to. */
export function kfunc<A extends unknown[], R>(
  name: string,
  body: (x: Context, ...a: A) => Gen<R>,
): (x: Context, ...a: A) => Gen<R> {
  // up to seven arguments after the context are passed as they are: a
  // rest parameter and a spread would cost an array and a spread call on
  // every call of every kernel function (those it does not declare come
  // as undefined, which its parameters, defaults included, take as absent;
  // no kernel function takes a rest parameter)
  // (a call with more arguments, whatever the body declares, takes the
  // general path: no argument is ever dropped)
  const src = String(body);
  const rest = src.slice(0, src.indexOf('{')).includes('...'); // a rest parameter: no padding
  if (body.length <= 8 && !rest) {
    const f = body as unknown as (x: Context, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, g?: unknown, h?: unknown) => Gen<R>;
    const g = body as unknown as (x: Context, ...rest: unknown[]) => Gen<R>;
    return function (x: Context, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, gg?: unknown, h?: unknown): Gen<R> {
      if (arguments.length > 8) return new KFunc(x, name, g(x, ...[...arguments].slice(1))) as unknown as Gen<R>;
      return new KFunc(x, name, f(x, a, b, c, d, e, gg, h)) as unknown as Gen<R>;
    } as unknown as (x: Context, ...a: A) => Gen<R>;
  }
  return (x: Context, ...a: A): Gen<R> => new KFunc(x, name, body(x, ...a)) as unknown as Gen<R>;
}
