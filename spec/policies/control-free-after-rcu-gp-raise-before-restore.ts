// Control: the FREE_AFTER_RCU_GP flavour (seed 001's thread) with upstream's
// order in unit_alloc() (62cf51cb0ebe, as control/bpf-ma-raise-before-restore):
// seed 004's known finding refill-claimed-then-preempted must be gone. Its
// frees go through the flavour's batches and raise no irq_work, so
// unit_alloc()'s exit is the one line that changes.
import { bpfMaReuseInit } from '../reuse/init.ts';
import { FREE_AFTER_GP_OPS } from '../reuse/free_after_gp.ts';
import { memallocOps } from '../memalloc/ops.ts';
import { unitAllocExitRaiseFirst } from './control-bpf-ma-raise-before-restore.ts';
import { freeAfterRcuGp } from './free-after-rcu-gp.ts';
import { definePolicy } from './policy.ts';

export const freeAfterRcuGpRaiseBeforeRestore = definePolicy({
  ...freeAfterRcuGp,
  name: 'control/free-after-rcu-gp-raise-before-restore',
  summary: 'free-after-rcu-gp with irq_work_raise() before local_irq_restore() in unit_alloc() (upstream order)',
  findings: undefined,
  control: { of: 'free-after-rcu-gp', why: "seed 004's refill-claimed-then-preempted finding, fixed as upstream did" },
  init: (k, opts) =>
    bpfMaReuseInit(k, opts, { workName: 'bpf_ma_prepare_free_work', reuseOps: FREE_AFTER_GP_OPS, ops: { ...memallocOps(), unit_alloc_exit: unitAllocExitRaiseFirst } }),
});
