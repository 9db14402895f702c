// The execution rules of BRIEF §1: which context may start on a CPU, and
// one atomic step of a context. Choosing *which* enabled action to take is
// the harness's business (harness/scheduler.ts).
import type { Context } from './context.ts';
import type { Kernel } from './kernel.ts';
import { LEVEL_RANK, Violation, type Gen, type Level } from './types.ts';

/** May a new context of this level start on cpu now? */
export function canStart(k: Kernel, cpu: number, level: Level): boolean {
  const c = k.cpus[cpu]!;
  const s = c.stack;
  const top = s[s.length - 1];
  switch (level) {
    case 'nmi': // NMIs do not nest; otherwise any atomic step may be hit
      for (const x of s) if (x.level === 'nmi') return false;
      return true;
    case 'hardirq':
      return !c.irqsOff && (top === undefined || LEVEL_RANK[top.level] < LEVEL_RANK.hardirq);
    case 'softirq':
      return !c.irqsOff && (top === undefined || top.level === 'task');
    case 'task': {
      if (top === undefined) return true;
      // a task preempts a task (or runs while it sleeps), with IRQs on,
      // up to a nesting bound
      if (top.level !== 'task' || (c.irqsOff && !top.sleeping)) return false;
      return s.length < k.cfg.maxTaskNesting;
    }
  }
}

/** Push a new context on cpu running body (caller checked canStart). */
export function start(k: Kernel, cpu: number, level: Level, label: string, body: (x: Context) => Gen<unknown>): Context {
  const x = k.context(cpu, level, label);
  const c = k.cpus[cpu]!;
  if (level === 'hardirq') {
    x.savedIrqsOff = c.irqsOff;
    c.irqsOff = true;
  }
  c.stack.push(x);
  x.gen = body(x);
  k.tracer?.note(x, 'starts');
  return x;
}

function finish(k: Kernel, x: Context): void {
  const c = k.cpus[x.cpu]!;
  const i = c.stack.lastIndexOf(x);
  for (let j = i + 1; j < c.stack.length; j++) {
    if (!c.stack[j]!.sleeping) throw new Error(`spec bug: ${x.label} finished under a running context on cpu${x.cpu}`);
  }
  c.stack.splice(i, 1);
  x.done = true;
  if (x.level === 'hardirq') c.irqsOff = x.savedIrqsOff;
  else if (c.irqsOff && (x.level === 'task' || x.level === 'softirq') && c.stack.length === 0) {
    throw new Violation('NoKernelWarn', `${x.label} on cpu${x.cpu} returned with IRQs disabled`);
  }
}

/** One atomic step of x (the top of its CPU). False if x can only wait. */
export function step(k: Kernel, x: Context): boolean {
  if (x.waitFor !== null && !x.waitFor()) return false;
  const r = x.gen!.next();
  k.steps++;
  if (r.done) {
    k.tracer?.step(x, 'returns');
    finish(k, x);
  } else if (k.tracer) k.tracer.step(x, r.value);
  if (k.onStep !== null) k.onStep(x);
  return true;
}

/** Step x up to n times (n = 0: until it finishes or must wait). Returns
 *  the number of steps taken. */
export function run(k: Kernel, x: Context, n: number): number {
  const limit = n > 0 ? n : k.cfg.stepLimit;
  let i = 0;
  while (i < limit && !x.done && step(k, x)) i++;
  if (n === 0 && i === limit && !x.done) {
    throw new Violation('NoDeadlock', `${x.label} on cpu${x.cpu} (${x.fn}) made ${limit} steps without finishing (livelock)`);
  }
  return i;
}

/** Drive a generator to its end outside the scheduler (boot-time init). */
export function runToEnd<T>(g: Gen<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}
