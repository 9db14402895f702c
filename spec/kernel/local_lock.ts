// include/linux/local_lock_internal.h: local_trylock_t, a per-CPU lock.
//
// !PREEMPT_RT: local_trylock() is preempt_disable() plus a flag
// (tl->acquired): it fails when the flag is set, and since the holder runs
// with preemption off, only an interrupt (hardirq or NMI) above the holder
// on the same CPU can find it set. local_lock() sets the flag under
// lockdep_assert(acquired == 0). One step each.
//
// PREEMPT_RT: the lock is a per-CPU spinlock_t (an rt_mutex) taken with
// migration disabled, not preemption: a task may preempt the holder, and
// its local_trylock() then fails; in hardirq or NMI local_trylock() fails
// outright (in_nmi() | in_hardirq()). local_lock() is a sleeping lock: the
// waiter sleeps (the holder beneath it runs on, R5), and taking it where
// the context may not block (hardirq, NMI, IRQs or preemption off, a raw
// spinlock held; softirqs run in threads on RT and may) is
// NoSpinWhereForbidden.
//
// Trylock failures are never injected here: on !RT one that fails without
// an interrupt over the holder cannot happen, and the family's code must
// survive the real ones.
import { kfunc, type Context } from './context.ts';
import { maySpin, trylockOutcome } from './nospin.ts';
import { Violation, shared, type Gen, type Owner } from './types.ts';

/** The outcome of each context's last local_trylock() (coverage
 *  predicates read it: spec/sheaves/situations.ts) */
export const lastTrylock = shared('lastTrylock', () => new WeakMap<Context, { lock: LocalTrylock; ok: boolean; holder: Context | null }>());

export class LocalTrylock {
  holder: Context | null = null;
  /** the holder took it with preemption off (!RT) */
  private pinned = false;
  private fullName = '';
  constructor(
    readonly owner: Owner,
    readonly field: string,
  ) {}
  get name(): string {
    return (this.fullName ||= `${this.owner.name}.${this.field}`);
  }
  acquire(x: Context): void {
    this.holder = x;
    this.pinned = !x.k.cfg.preemptRt;
    if (this.pinned) x.preemptCount++;
  }
  release(): void {
    if (this.holder && this.pinned) this.holder.preemptCount--;
    this.holder = null;
    this.pinned = false;
  }
}

function at(x: Context, l: LocalTrylock): void {
  x.k.touch(x, l.owner, l.field);
  x.touched = l.name;
}

/** local_trylock(&lock): true when taken. */
export const localTrylock = kfunc('local_trylock', function* (x: Context, l: LocalTrylock): Gen<boolean> {
  at(x, l);
  const rt = x.k.cfg.preemptRt;
  const h = l.holder;
  if (rt && (x.level === 'hardirq' || x.level === 'nmi')) {
    lastTrylock.set(x, { lock: l, ok: false, holder: h });
    yield x.k.labels ? `local_trylock(&${l.field}) = 0 (in_${x.level === 'nmi' ? 'nmi' : 'hardirq'}() on PREEMPT_RT)` : '';
    return false;
  }
  const ok = h === null;
  trylockOutcome(x, ok, h, `local_trylock(&${l.field})`);
  if (ok) l.acquire(x);
  lastTrylock.set(x, { lock: l, ok, holder: h });
  yield x.k.labels ? `local_trylock(&${l.field}) = ${ok ? 1 : 0}${ok ? '' : ` (held by ${h!.label})`}` : '';
  return ok;
});

/** local_lock(&lock): !RT sets the flag (a holder is a lockdep splat);
 *  RT waits, sleeping, for the per-CPU rt_mutex. */
export const localLock = kfunc('local_lock', function* (x: Context, l: LocalTrylock): Gen<void> {
  at(x, l);
  maySpin(x, `local_lock(&${l.field})`);
  if (!x.k.cfg.preemptRt) {
    const h = l.holder;
    if (h !== null) {
      throw new Violation('NoKernelWarn', `lockdep_assert(tl->acquired == 0) in local_lock(&${l.field}) by ${x.label} on cpu${x.cpu} (${x.fn}): held by ${h.label} (${h.fn})`);
    }
    l.acquire(x);
    yield x.k.labels ? `local_lock(&${l.field})` : '';
    return;
  }
  // a sleeping lock: only where the context may block
  if ((x.level !== 'task' && x.level !== 'softirq') || x.k.cpus[x.cpu]!.irqsOff || x.spinlocks > 0 || x.preemptCount > 0) {
    throw new Violation('NoSpinWhereForbidden', `local_lock(&${l.field}) (a sleeping lock on PREEMPT_RT) in ${x.fn} on cpu${x.cpu} (${x.label}) ${x.level === 'hardirq' || x.level === 'nmi' ? `in ${x.level}` : 'where it may not block'}`);
  }
  if (l.holder === x) throw new Violation('NoDeadlock', `${x.fn} (${x.label}) takes ${l.name} it already holds`);
  while (l.holder !== null) {
    x.waitFor = () => l.holder === null;
    x.waitWhat = `local_lock(&${l.field})`;
    x.sleeping = true;
    yield x.k.labels ? `local_lock(&${l.field}): sleeps` : '';
  }
  x.waitFor = null;
  x.sleeping = false;
  l.acquire(x);
  yield x.k.labels ? `local_lock(&${l.field})` : '';
});

/** local_unlock(&lock) */
export function* localUnlock(x: Context, l: LocalTrylock): Gen<void> {
  at(x, l);
  const h = l.holder;
  if (h !== x) {
    throw new Violation('NoKernelWarn', `lockdep: bad unlock balance: ${x.fn} on cpu${x.cpu} (${x.label}) unlocks ${l.name} ${h ? `held by ${h.label} (${h.fn})` : 'that nobody holds'}`);
  }
  l.release();
  yield x.k.labels ? `local_unlock(&${l.field})` : '';
}
