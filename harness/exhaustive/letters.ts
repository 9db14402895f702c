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
// nothing at all can run, to the state itself. Whether a letter runs as
// itself is asked of the engine (spec/kernel/sched.ts allowed(), through
// the command table's toAction), the same check Sim.exec makes. The same holds for a
// program letter whose operation Sim.prog rewrites to `alloc` (nothing is
// owned yet): it is the `alloc` letter with the same steps.
//
// So the successors of a state are those of the letters `expand()` keeps,
// plus possibly the state itself; dropping the others loses no state, no
// violation and no length (the dropped letter's successor is reached at
// the same depth). Nothing is pruned on a guess. Two checks keep it
// honest: every letter the search runs must have run as itself (sim.log; a mismatch is an internal error,
// never a silent loss), and `verify` runs the dropped ones too and checks
// that each one's successor (or violation) is one the kept ones produced
// (test/harness/exhaustive.test.ts does at small depths).
import { alphabetOf, toAction, type Cmd, type GenCtx } from '../commands.ts';
import type { Sim } from '../sim.ts';
import { allowed } from '../../spec/kernel/sched.ts';

/** Does c run its own action (not a fallback) from sim's state? The one
 *  check every command passes before it changes anything: the engine's
 *  allowed() of the action the command table maps it to. */
export function runsAsItself(sim: Sim, c: Cmd): boolean {
  const a = toAction(sim, c, 'cpu' in c ? c.cpu : 0);
  return a !== null && allowed(sim.k, a);
}

/** A program letter Sim.prog would rewrite to `alloc` (nothing owned):
 *  the `alloc` letter with the same fields does the same. */
function rewrittenToAlloc(sim: Sim, c: Cmd): boolean {
  if ((c.t !== 'prog' && c.t !== 'nmi') || c.op === 'alloc') return false;
  return c.from === undefined ? sim.model.owned.length === 0 : sim.model.ownedFrom(c.from).length === 0;
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
  const out = byOrigin(alphabetOf(g), g.cfg.cpus);
  const requests = g.nreq || g.cfg.allocSizes.length || 1;
  for (let cpu = 0; cpu < g.cfg.cpus; cpu++) {
    for (let arg = 1; arg < requests; arg++) out.push({ t: 'prog', cpu, op: 'alloc', arg, count: 1, sleepable: false, steps: 0 });
    if (batch) {
      out.push({ t: 'prog', cpu, op: 'alloc', arg: 0, count: 4, sleepable: false, steps: 0 });
      for (let from = 0; from < g.cfg.cpus; from++) out.push({ t: 'prog', cpu, op: 'free', arg: 0, count: 4, sleepable: false, steps: 0, from });
    }
  }
  return out;
}

/** Every letter that frees or looks up an object becomes one letter per
 *  CPU of origin: `from` names whose object #arg it is (the objects
 *  programs on that CPU were handed, oldest first). The command table's
 *  letter (no `from`) named the oldest owned object of all, so every
 *  program letter read and wrote one list of every owned object and no two
 *  programs on different CPUs commuted; per CPU of origin, an allocation on
 *  cpu0 and a free of cpu1's object touch different lists. The oldest
 *  object of all is the oldest of some CPU, so nothing the old letter did
 *  is out of reach. */
function byOrigin(letters: Cmd[], cpus: number): Cmd[] {
  const out: Cmd[] = [];
  for (const c of letters) {
    if ((c.t === 'prog' || c.t === 'nmi') && c.op !== 'alloc') for (let from = 0; from < cpus; from++) out.push({ ...c, from });
    else out.push(c);
  }
  return out;
}
