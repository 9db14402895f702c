// linux/spinlock.h for spinlock_t as the configuration makes it: without
// PREEMPT_RT spin_lock_irqsave() is raw_spin_lock_irqsave() (IRQs off,
// preemption off, spins; spinning on a holder beneath on the same CPU is
// NoDeadlock, spinlock.ts); under PREEMPT_RT a spinlock_t is an rt_mutex:
// IRQs and preemption stay on, a waiter sleeps while the holder runs (the
// holder may be the task it preempted, R5), and taking it where the
// context may not block (hardirq, NMI, IRQs off, a raw spinlock or
// preemption off) is NoSpinWhereForbidden. Softirqs, RCU callbacks among
// them, run in threads on PREEMPT_RT and may block on it. Every acquire that may spin or
// sleep is judged where spinning is forbidden (nospin.ts); spin_trylock
// never is, and fails when held or when a 'trylock' fault is armed.
import type { Context } from './context.ts';
import { localIrqRestore, localIrqSave } from './irqflags.ts';
import { maySpin, trylockOutcome } from './nospin.ts';
import { rawSpinLockIrqsave, rawSpinTrylock, rawSpinUnlock, rawSpinUnlockIrqrestore, type RawSpinlock } from './spinlock.ts';
import { Violation, type Gen } from './types.ts';

function sleepingLock(x: Context, l: RawSpinlock): boolean {
  return x.k.cfg.preemptRt && l.kind === 'spinlock_t';
}

/** spin_lock_irqsave(&l, flags): returns flags. */
export function* spinLockIrqsave(x: Context, l: RawSpinlock): Gen<boolean> {
  maySpin(x, `spin_lock_irqsave(&${l.field})`);
  if (!sleepingLock(x, l)) return yield* rawSpinLockIrqsave(x, l);
  x.k.touch(x, l.owner, l.field);
  x.touched = `${l.owner.name}.${l.field}`;
  if ((x.level !== 'task' && x.level !== 'softirq') || x.k.cpus[x.cpu]!.irqsOff || x.spinlocks > 0 || x.preemptCount > 0) {
    throw new Violation('NoSpinWhereForbidden', `spin_lock_irqsave(&${l.field}) (a sleeping lock on PREEMPT_RT) in ${x.fn} on cpu${x.cpu} (${x.label}) ${x.level === 'hardirq' || x.level === 'nmi' ? `in ${x.level}` : 'where it may not block'}`);
  }
  if (l.holder === x) throw new Violation('NoDeadlock', `${x.fn} (${x.label}) takes ${l.field} it already holds`);
  while (l.holder !== null) {
    x.waitFor = () => l.holder === null;
    x.waitWhat = `spin_lock(&${l.field})`;
    x.sleeping = true;
    yield x.k.labels ? `spin_lock_irqsave(&${l.field}): sleeps (rt_mutex)` : '';
  }
  x.waitFor = null;
  x.sleeping = false;
  l.acquire(x);
  yield x.k.labels ? `spin_lock_irqsave(&${l.field})` : '';
  return x.k.cpus[x.cpu]!.irqsOff;
}

/** spin_unlock_irqrestore(&l, flags) */
export function* spinUnlockIrqrestore(x: Context, l: RawSpinlock, flags: boolean): Gen<void> {
  if (!sleepingLock(x, l)) return yield* rawSpinUnlockIrqrestore(x, l, flags);
  yield* rawSpinUnlock(x, l);
}

/** spin_trylock_irqsave(&l, flags): { ok, flags }; IRQs are restored at
 *  once when it fails (the macro's else branch). */
export function* spinTrylockIrqsave(x: Context, l: RawSpinlock): Gen<{ ok: boolean; flags: boolean }> {
  const rt = sleepingLock(x, l);
  const flags = rt ? x.k.cpus[x.cpu]!.irqsOff : localIrqSave(x);
  const h = l.holder;
  const ok = yield* rawSpinTrylock(x, l);
  trylockOutcome(x, ok, h, `spin_trylock(&${l.field})`);
  if (!ok && !rt) void localIrqRestore(x, flags);
  return { ok, flags };
}
