// memalloc.c's coverage situations, as predicates over steps (see
// Situation in spec/policies/policy.ts): what the exploration must reach
// for a green check of bpf-ma to mean something. The helpers below are
// shared with the families built on memalloc.c (reuse, upstream, percpu).
import { Cell } from '../kernel/atomic.ts';
import type { Context } from '../kernel/context.ts';
import type { StepView } from '../kernel/events.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { Situation } from '../policies/policy.ts';
import { KWORKER_ON_OTHER_CPU } from '../kernel/situations.ts';

/** The context the step's context interrupted on its CPU, if any. */
export function beneath(x: StepView, k: Kernel): Context | undefined {
  const s = k.cpus[x.cpu]!.stack;
  let i = s.length - 1;
  while (i >= 0 && s[i]!.id !== x.id) i--;
  return i > 0 ? s[i - 1] : undefined;
}

/** What a context beneath is doing: its kernel function, or the kind of
 *  context (prog, not prog7) when it is in none. */
export function doing(y: Context): string {
  return y.fns.length ? y.fn : y.label.replace(/\d+$/, '');
}

/** The counter a step acted on (its event's target), if it was one. */
export function touchedCell(x: StepView): Cell | undefined {
  return x.target instanceof Cell ? x.target : undefined;
}

// the answer for the last step asked (every nmi-in-active:<fn> asks it)
let takenOf: Kernel | null = null;
let takenStep = -1;
let taken: string | null = null;

/** An NMI's local_inc_return(&c->active) found it taken (the value it
 *  left is above 1): what the context beneath was doing, else null. */
function nmiFoundActiveTaken(x: StepView, k: Kernel): string | null {
  if (takenOf === k && takenStep === k.steps) return taken;
  takenOf = k;
  takenStep = k.steps;
  taken = null;
  const c = touchedCell(x);
  if (!c || c.field !== 'active' || c.v <= 1) return null;
  const y = beneath(x, k);
  return (taken = y ? doing(y) : null);
}

/** `nmi-in-active:<fn>`: an NMI program enters the allocator while the
 *  context beneath it on its CPU holds 'active' inside fn. */
export function nmiInActive(fn: string, text: string): Situation {
  return { name: `nmi-in-active:${fn}`, text, level: 'nmi', when: (x, k) => nmiFoundActiveTaken(x, k) === fn };
}

/** How many contexts on any CPU p holds of. */
function contexts(k: Kernel, p: (y: Context, cpu: number) => boolean): number {
  let n = 0;
  for (const c of k.cpus) for (const y of c.stack) if (p(y, c.id)) n++;
  return n;
}

/** A program's free puts its object on a list (the step of `freeFns` that
 *  does it) while cond holds of some contexts (counted once each). */
function programFreeWhile(name: string, text: string, freeFns: readonly string[], cond: (x: StepView, y: Context, cpu: number) => boolean): Situation {
  return {
    name,
    text,
    fns: freeFns,
    act: 'put on list',
    when: (x, k) => (x.isProg ? contexts(k, (y, cpu) => cond(x, y, cpu)) : 0),
  };
}

/** `irq-work-while-other-cpu-frees` for a family whose programs free in freeFns. */
export function irqWorkWhileOtherCpuFrees(freeFns: readonly string[]): Situation {
  return programFreeWhile('irq-work-while-other-cpu-frees', 'a program frees on one CPU while irq_work runs on another', freeFns, (x, y, cpu) => cpu !== x.cpu && y.label.startsWith('irq_work'));
}

// the RCU callbacks (softirq contexts) seen, of the kernel asked last
let seenOf: Kernel | null = null;
const seen = new Set<number>();

/** `rcu-callback-racing-free`: a program frees while an RCU callback runs,
 *  or an RCU callback starts while a program is inside the allocator
 *  (counted once per such program). */
export function rcuCallbackRacingFree(freeFns: readonly string[]): Situation[] {
  const text = 'a program frees while an RCU callback runs';
  return [
    programFreeWhile('rcu-callback-racing-free', text, freeFns, (_x, y) => y.level === 'softirq'),
    {
      name: 'rcu-callback-racing-free',
      text,
      level: 'softirq',
      // once per callback: its first step
      when: (x, k) => {
        if (seenOf !== k) {
          seenOf = k;
          seen.clear();
        }
        if (seen.has(x.id)) return 0;
        seen.add(x.id);
        return contexts(k, (y) => y.isProg && y.fns.length > 0);
      },
    },
  ];
}

/** `teardown-with-callbacks-in-flight`: destroy_mem_alloc() found callbacks
 *  in flight and takes the slow path, whose first step is kmalloc() of the
 *  copy of bpf_mem_alloc. */
export const TEARDOWN_WITH_CALLBACKS_IN_FLIGHT: Situation = {
  name: 'teardown-with-callbacks-in-flight',
  text: 'teardown starts while RCU callbacks are queued',
  fns: ['destroy_mem_alloc'],
  when: (x, k) => x.target === k.slab,
};

/** Counted by the engine (harness/sim.ts) when it cannot end a grace period. */
export const GRACE_PERIOD_HELD_BY_READER: Situation = {
  name: 'grace-period-held-by-reader',
  text: 'a grace period could not end because a reader was inside its critical section',
};

/** Counted by the reader itself (harness/programs.ts) when it wakes. */
export const RCU_GP_UNDER_SLEEPING_READER: Situation = {
  name: 'rcu-gp-under-sleeping-reader',
  text: 'a normal grace period ended while a sleepable program slept holding an object it looked up',
};

/** `slab-free-under-sleeping-reader`: an RCU callback gives an object back
 *  to slab while a sleepable program sleeps holding one it looked up
 *  (counted once per such reader): the window where a chain that skips
 *  the tasks-trace grace period frees what the reader will read. */
export const SLAB_FREE_UNDER_SLEEPING_READER: Situation = {
  name: 'slab-free-under-sleeping-reader',
  text: 'an RCU callback frees an object to slab while a sleepable program sleeps holding one it looked up',
  level: 'softirq',
  act: 'to slab',
  when: (_x, k) => contexts(k, (y) => y.sleeping && y.refs.length > 0),
};

/** The readers that hold on (harness/programs.ts, a lookup's `hold`). */
export const SLEEPING_READER_SITUATIONS: readonly Situation[] = [RCU_GP_UNDER_SLEEPING_READER, SLAB_FREE_UNDER_SLEEPING_READER];

/** bpf-ma's situations (and every policy's that declares none). */
export const MEMALLOC_SITUATIONS: readonly Situation[] = [
  nmiInActive('unit_alloc', 'an NMI program enters the allocator while unit_alloc holds active'),
  nmiInActive('unit_free', 'an NMI program enters the allocator while unit_free holds active'),
  nmiInActive('alloc_bulk', 'an NMI program enters the allocator while alloc_bulk (irq_work) holds active'),
  nmiInActive('free_bulk', 'an NMI program enters the allocator while free_bulk (irq_work) holds active'),
  irqWorkWhileOtherCpuFrees(['unit_free']),
  ...rcuCallbackRacingFree(['unit_free']),
  GRACE_PERIOD_HELD_BY_READER,
  TEARDOWN_WITH_CALLBACKS_IN_FLIGHT,
  ...SLEEPING_READER_SITUATIONS,
  KWORKER_ON_OTHER_CPU,
];
