// Deep benchmark subject (burst class; not in the zoo, see bench/deep.ts):
// memalloc.c with `active` left as a flag rather than a nesting count:
// every section that takes it with local_inc_return() leaves it with
// `local_set(&c->active, 0)` instead of local_dec(). One NMI inside an
// active section is harmless (it sees 2, takes its fallback, and the
// section's own exit writes 0 anyway), but it leaves `active` at 0 while
// the interrupted section is still inside its list update: a second NMI on
// the same CPU inside the same operation sees 1 and edits free_llist under
// it. Only a burst of two NMIs landing in one operation breaks it.
import { store } from '../kernel/atomic.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

export const deepActiveAsFlag = definePolicy({
  ...bpfMa,
  name: 'deep/active-as-flag',
  summary: 'memalloc.c leaving every active section with local_set(&c->active, 0) instead of local_dec(): two NMIs in one operation',
  // seed 004's IRQ-order finding stays a known finding, as in bpf-ma
  bug: {
    invariants: ['Conservation', 'NeverOnTwoLists', 'ExclusiveOwnership', 'FreeCntMatchesList', 'NoKernelWarn', 'NoLeakAtTeardown'],
    why: 'an NMI inside an active section resets active to 0 on its way out; a second NMI in the same operation takes the free_llist path under the interrupted list update',
  },
  init: withOps({
    active_exit: (x, c) => store(x, c.active, 0), // the mistake: `local_set(&c->active, 0)` where local_dec() belongs
  }),
});
