// kfree_nolock() calls free_to_pcs(s, x, true) (allow_spin as kfree()
// passes it): with a full main sheaf __pcs_replace_full_main() takes the
// barn lock with spin_lock_irqsave() or allocates an empty sheaf, from NMI
// or over a holder of the lock, where kfree_nolock() promises never to
// spin.
import { freeToPcs } from '../sheaves/free.ts';
import { nolockVariant } from './kmalloc-nolock.ts';

export const nolockKfreeAllowsSpin = nolockVariant(
  'bug/nolock-kfree-allows-spin',
  'kfree_nolock() frees to the sheaves with allow_spin = true',
  { kfree_nolock_to_pcs: (x, s, obj) => freeToPcs(x, s, obj, true) },
  { bug: { invariants: ['NoSpinWhereForbidden'], why: 'a kfree_nolock() that finds main full takes the barn lock or allocates a sheaf on a path that may not spin' } },
);
