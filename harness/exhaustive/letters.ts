// Which letters of the exhaustive alphabet a state needs expanded.
//
// Sim.exec(c) runs c's own action when the engine allows it on c's CPU;
// otherwise it falls back, in a fixed order, to the same kind on the next
// CPU, then to any progress (step, irq, softirq, kworker, then a grace
// period), then to starting a program (harness/sim.ts, exec). Every action
// a fallback can land on is itself a letter of the alphabet run as itself:
// the alphabet has every per-CPU kind on every CPU with the same fields,
// `step`/`irq`/`softirq`/`kworker` with 0 and 1 steps on every CPU, both
// grace periods and `prog cpuN alloc, to end`. A failed attempt changes
// nothing before it returns null (each action checks whether it may run
// first), so a letter that is not enabled as itself leads to exactly the
// successor of the letter it falls back to from the same state, or, when
// nothing at all can run, to the state itself. The same holds for a
// program letter whose operation Sim.prog rewrites to `alloc` (nothing is
// owned yet): it is the `alloc` letter with the same steps.
//
// So the successors of a state are those of the letters `expand()` keeps,
// plus possibly the state itself; dropping the others loses no state, no
// violation and no length (the dropped letter's successor is reached at
// the same depth). Nothing is pruned on a guess: the predicate below asks
// the engine's own guards (spec/kernel/sched.ts) what Sim's actions ask
// before they run. Two checks keep it honest: every letter the search
// runs must have run as itself (sim.log; a mismatch is an internal error,
// never a silent loss), and `verify` runs the dropped ones too and checks
// that each one's successor (or violation) is one the kept ones produced
// (test/harness/exhaustive.test.ts does at small depths).
import { alphabetOf, type Cmd, type GenCtx } from '../commands.ts';
import type { Sim } from '../sim.ts';
import { canStart, interruptPending, irqWorkFor, readyCallbackOn, runnable, workFor } from '../../spec/kernel/sched.ts';

/** The CPU-hotplug fault is enabled (Sim.hotplug's guard). */
function hotplugEnabled(sim: Sim): boolean {
  const k = sim.k;
  const c = k.cpus[sim.cfg.cpus - 1]!;
  if (!c.online) return true;
  if (c.stack.length) return false;
  for (const w of k.pendingIrqWork) if (w.cpu === c.id) return false;
  for (const w of k.claimedIrqWork) if (w.cpu === c.id) return false;
  return !(sim.policy.cpuDead && (sim.tearingDown || !canStart(k, 0, 'task')));
}

/** Does c run its own action (not a fallback) from sim's state? The guard
 *  each action of Sim checks before it changes anything. */
export function runsAsItself(sim: Sim, c: Cmd): boolean {
  const k = sim.k;
  switch (c.t) {
    case 'prog':
      return !sim.tearingDown && canStart(k, c.cpu, 'task');
    case 'nmi':
      return !sim.tearingDown && canStart(k, c.cpu, 'nmi');
    case 'burst':
      return !sim.tearingDown && canStart(k, c.cpu, 'nmi') && (!!runnable(k, c.cpu) || !!interruptPending(k, c.cpu));
    case 'step':
      return !!runnable(k, c.cpu) || !!interruptPending(k, c.cpu);
    case 'irq':
      return irqWorkFor(k, c.cpu) !== null;
    case 'softirq':
      return canStart(k, c.cpu, 'softirq') && readyCallbackOn(k, c.cpu);
    case 'kworker':
      return workFor(k, c.cpu) !== null;
    case 'gp':
      return k.rcu.canEndGp(c.flavour);
    case 'fault':
      return sim.faultKinds.includes(c.kind) && (c.kind !== 'cpu_offline' || hotplugEnabled(sim));
    case 'destroy':
      return !sim.tearingDown;
    case 'quiesce':
      return true;
  }
}

/** A program letter Sim.prog would rewrite to `alloc` (nothing owned):
 *  the `alloc` letter with the same fields does the same. */
function rewrittenToAlloc(sim: Sim, c: Cmd): boolean {
  return (c.t === 'prog' || c.t === 'nmi') && c.op !== 'alloc' && sim.model.owned.length === 0;
}

/** Indices of the letters to expand from sim's state, in alphabet order. */
export function expand(sim: Sim, letters: readonly Cmd[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < letters.length; i++) {
    const c = letters[i]!;
    if (runsAsItself(sim, c) && !rewrittenToAlloc(sim, c)) out.push(i);
  }
  return out;
}

/** Did the command just executed (its log entries from `from` on) run as
 *  letter c itself? */
export function ranAsItself(sim: Sim, from: number, c: Cmd): boolean {
  const e = sim.log[from];
  if (!e || e.t !== c.t) return false;
  for (const f in c) if ((c as Record<string, unknown>)[f] !== (e as Record<string, unknown>)[f]) return false;
  return true;
}

/** The exhaustive alphabet: the command table's letters (harness/
 *  commands.ts: every kind on every CPU, programs of one operation, to the
 *  end or one step), then a program allocating each other request the
 *  policy or configuration has (sizes in `buckets`, the percpu requests:
 *  a bug that needs one size is out of reach without it), then with
 *  `batch` programs of four operations (one program that allocates or
 *  frees four objects in a row, which crosses the high watermark without
 *  letting the irq_work in between). */
export function exhaustiveAlphabet(g: GenCtx, batch = false): Cmd[] {
  const out = alphabetOf(g);
  const requests = g.nreq || g.cfg.allocSizes.length || 1;
  for (let cpu = 0; cpu < g.cfg.cpus; cpu++) {
    for (let arg = 1; arg < requests; arg++) out.push({ t: 'prog', cpu, op: 'alloc', arg, count: 1, sleepable: false, steps: 0 });
    if (batch) for (const op of ['alloc', 'free'] as const) out.push({ t: 'prog', cpu, op, arg: 0, count: 4, sleepable: false, steps: 0 });
  }
  return out;
}
