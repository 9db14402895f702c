import type { Gen, Level } from './types.ts';
import type { Obj } from './obj.ts';
import type { Kernel } from './kernel.ts';

let nextContextId = 0;
export function resetContextIds(): void {
  nextContextId = 0;
}

/** One execution context on one CPU: a BPF program, an irq_work handler,
 *  a kworker, an RCU callback in softirq, a syscall, an NMI program. */
export class Context {
  readonly id = nextContextId++;
  /** kernel function names, outermost first (maintained by kfunc) */
  readonly fns: string[] = [];
  /** what the last step touched (a list head, a counter), for traces */
  touched = '';
  gen: Gen<unknown> | null = null;
  done = false;
  /** set while the context can only wait; null when it can run */
  waitFor: (() => boolean) | null = null;
  waitWhat = '';
  /** waiting in a sleeping wait: tasks beneath it on the CPU may run */
  sleeping = false;
  /** RCU read-side nesting: normal RCU and RCU tasks trace */
  rcuDepth = 0;
  traceDepth = 0;
  /** bumped each time a read-side critical section begins */
  rcuSection = 0;
  /** objects this context looked up and may still read (RCU reader refs) */
  refs: Obj[] = [];
  /** IRQ flag of the CPU when a hardirq pushed this context */
  savedIrqsOff = false;
  /** true for BPF programs: they use the allocator and block teardown */
  isProg = false;
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

/** Wrap a generator as a named kernel function so traces can say which
 *  function each step belongs to. */
export function kfunc<A extends unknown[], R>(
  name: string,
  body: (x: Context, ...a: A) => Gen<R>,
): (x: Context, ...a: A) => Gen<R> {
  return function* (x: Context, ...a: A): Gen<R> {
    x.fns.push(name);
    const r = yield* body(x, ...a);
    x.fns.pop();
    return r;
  };
}
