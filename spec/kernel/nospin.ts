// Where a context may not spin: in NMI, and on the kernel's
// allow_spin = false paths (gfpflags_allow_spinning() false: kmalloc_nolock()
// and kfree_nolock(), which may be called from any context, NMI included,
// with any lock held). There every lock must be a trylock, no allocation
// may be made that could take a lock, and a trylock that fails must not be
// retried against the context it interrupted. The rule is judged at the
// acquire, whether or not the lock happens to be free: an acquire that may
// spin is the defect, not only the run in which it spins forever
// (NoSpinWhereForbidden).
import type { Context } from './context.ts';
import { Violation, shared } from './types.ts';

/** allow_spin = false sections, per context (nesting depth) */
const sections = shared('noSpinSections', () => new WeakMap<Context, string[]>());

/** Enter an allow_spin = false path (`why`: the entry point, e.g.
 *  'kmalloc_nolock'). Not a step: it only marks the context. */
export function noSpinEnter(x: Context, why: string): void {
  trylockRetryReset(x);
  let s = sections.get(x);
  if (!s) sections.set(x, (s = []));
  s.push(why);
}

export function noSpinExit(x: Context): void {
  sections.get(x)?.pop();
}

/** Why x may not spin now, or null if it may. */
export function spinForbidden(x: Context): string | null {
  if (x.level === 'nmi') return 'in NMI';
  const s = sections.get(x);
  if (s && s.length) return `on an allow_spin = false path (${s[s.length - 1]})`;
  return null;
}

/** An acquire that may spin (spin_lock*, local_lock, a sleeping lock)
 *  or an allocation that may (`what` names it): a violation where x may
 *  not spin. */
export function maySpin(x: Context, what: string): void {
  const why = spinForbidden(x);
  if (why !== null) throw new Violation('NoSpinWhereForbidden', `${what} ${why}, in ${x.fn} on cpu${x.cpu} (${x.label})`);
}

/** How many times in a row a context's trylock failed against a holder
 *  beneath it on its CPU: a retry loop there can never succeed (the holder
 *  cannot run until the interrupting context returns). */
const failures = shared('trylockFailures', () => new WeakMap<Context, number>());
export const TRYLOCK_RETRY_BOUND = 3;

/** A new call into the allocator begins: failures before it were another
 *  call's (each entry point of a family resets its context's count). */
export function trylockRetryReset(x: Context): void {
  failures.delete(x);
}

/** Record the outcome of x's trylock on a lock `holder` holds: a context
 *  that fails more than TRYLOCK_RETRY_BOUND times in a row against a
 *  context beneath it on its CPU is retrying without bound. */
export function trylockOutcome(x: Context, ok: boolean, holder: Context | null, what: string): void {
  if (ok || holder === null || holder.cpu !== x.cpu || holder === x) {
    failures.delete(x);
    return;
  }
  const n = (failures.get(x) ?? 0) + 1;
  failures.set(x, n);
  if (n > TRYLOCK_RETRY_BOUND) {
    throw new Violation('NoSpinWhereForbidden', `${x.fn} on cpu${x.cpu} (${x.label}) retries ${what} ${n} times against ${holder.label} (${holder.fn}), which it interrupted and which cannot run before it returns`);
  }
}
