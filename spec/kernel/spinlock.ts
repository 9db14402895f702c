// linux/spinlock.h: raw_spin_lock spins; spinning on a lock held by a
// context this one interrupted on the same CPU can never finish, which is
// reported as NoDeadlock at once rather than hung on.
import type { Context } from './context.ts';
import { localIrqRestore, localIrqSave } from './irqflags.ts';
import { mightSleep } from './might_sleep.ts';
import { placeOf, type Gen, type Owner } from './types.ts';
import { acts, reads, writes, EVERYTHING, type Loc, report } from './events.ts';

export class RawSpinlock {
  holder: Context | null = null;
  private ownerName: string | null = null;
  private fullName = '';
  /** the holder counts it in x.spinlocks (preemption off while held) */
  private pinned = false;
  constructor(
    readonly owner: Owner,
    readonly field: string,
    /** raw_spinlock_t always disables preemption; spinlock_t does on !RT
     *  and is a sleeping lock under PREEMPT_RT */
    readonly kind: 'raw_spinlock_t' | 'spinlock_t' = 'raw_spinlock_t',
  ) {}
  /** `owner.field`, cached (a step's footprint names it) */
  get name(): string {
    if (this.ownerName !== this.owner.name) {
      this.ownerName = this.owner.name;
      this.fullName = `${this.ownerName}.${this.field}`;
    }
    return this.fullName;
  }
  /** lock taken by x */
  acquire(x: Context): void {
    this.holder = x;
    this.pinned = this.kind === 'raw_spinlock_t' || !x.k.cfg.preemptRt;
    if (this.pinned) x.spinlocks++;
  }
  release(): void {
    if (this.holder && this.pinned) this.holder.spinlocks--;
    this.holder = null;
    this.pinned = false;
  }
}

export function* rawSpinLock(x: Context, l: RawSpinlock): Gen<void> {
  x.k.touch(x, l.owner, l.field);
  acts(x, 'raw_spin_lock', l, false);
  const h = l.holder;
  if (h !== null && h.cpu === x.cpu) {
    report('self-deadlock', `${x.fn} (${x.label}) spins on ${l.owner.name}.${l.field} held by ${h.label} (${h.fn}) that it interrupted on cpu${x.cpu}`, {
      at: placeOf(x),
      with: [placeOf(h)],
      subjects: [l.name],
    });
  }
  // raw_spin_lock() disables preemption before it spins (a spinlock_t
  // under PREEMPT_RT is a sleeping lock and does not)
  const pin = l.kind === 'raw_spinlock_t' || !x.k.cfg.preemptRt;
  if (pin) x.preemptCount++;
  while (l.holder !== null) {
    x.waitFor = () => l.holder === null;
    x.waitWhat = `spin on ${l.field}`;
    yield x.k.labels ? `raw_spin_lock(&${l.field}): spinning` : '';
    // the next step reads the lock again
    x.op = 'raw_spin_lock';
    reads(x, l);
  }
  x.waitFor = null;
  if (pin) x.preemptCount--;
  l.acquire(x);
  writes(x, l);
  yield x.k.labels ? `raw_spin_lock(&${l.field})` : '';
}

/** spin_trylock(): fails when held, or when a 'trylock' fault is armed. */
export function* rawSpinTrylock(x: Context, l: RawSpinlock): Gen<boolean> {
  x.k.touch(x, l.owner, l.field);
  acts(x, 'spin_trylock', l, false);
  const ok = l.holder === null && !x.k.slab.fails('trylock', x);
  if (ok) {
    l.acquire(x);
    writes(x, l);
  }
  yield x.k.labels ? `spin_trylock(&${l.field}) = ${ok ? 1 : 0}` : '';
  return ok;
}

export function* rawSpinUnlock(x: Context, l: RawSpinlock): Gen<void> {
  x.k.touch(x, l.owner, l.field);
  x.op = 'raw_spin_unlock';
  writes(x, l);
  l.release();
  yield x.k.labels ? `raw_spin_unlock(&${l.field})` : '';
}

export function* rawSpinLockIrqsave(x: Context, l: RawSpinlock): Gen<boolean> {
  const flags = localIrqSave(x);
  yield* rawSpinLock(x, l);
  return flags;
}

export function* rawSpinUnlockIrqrestore(x: Context, l: RawSpinlock, flags: boolean): Gen<void> {
  yield* rawSpinUnlock(x, l);
  yield* localIrqRestore(x, flags);
}

/** Wait until cond holds. A sleeping wait (barriers, irq_work_sync on RT,
 *  cancel_work_sync) lets the tasks it preempted on its CPU run meanwhile;
 *  a spinning wait (cpu_relax loops) does not. `on`: what cond reads (each
 *  step that evaluates it again reads it; without it, such a step's
 *  footprint is unknown: everything). */
export function* waitUntil(x: Context, cond: () => boolean, what: string, sleeps = true, on: Loc | null = null): Gen<void> {
  if (sleeps) mightSleep(x, what);
  // each step that evaluates cond reads `on`
  for (;;) {
    if (on !== null) reads(x, on);
    else writes(x, EVERYTHING);
    if (cond()) break;
    x.op = 'wait';
    x.waitFor = cond;
    x.waitWhat = what;
    x.sleeping = sleeps && x.level === 'task';
    yield x.k.labels ? `${what}: waiting` : '';
  }
  x.waitFor = null;
  x.sleeping = false;
}
