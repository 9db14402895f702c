// Control: seed 000's on-demand percpu buckets with upstream's order in
// unit_alloc()/unit_free() (62cf51cb0ebe, 566f6de3cea3, as
// control/bpf-ma-raise-before-restore): seed 004's known finding
// refill-claimed-then-preempted must be gone. The buckets are set up later
// by bpf_mem_alloc_percpu_init(), which takes ma->ops.
import { memallocOps } from '../memalloc/ops.ts';
import type { Verifier } from '../percpu/verifier.ts';
import { unitAllocExitRaiseFirst, unitFreeExitRaiseFirst } from './control-bpf-ma-raise-before-restore.ts';
import { percpuOnDemand } from './percpu-on-demand.ts';
import { definePolicy } from './policy.ts';

export const percpuOnDemandRaiseBeforeRestore = definePolicy<Verifier>({
  ...percpuOnDemand,
  name: 'control/percpu-on-demand-raise-before-restore',
  summary: 'percpu-on-demand with irq_work_raise() before local_irq_restore() in unit_alloc()/unit_free() (upstream order)',
  findings: undefined,
  control: { of: 'percpu-on-demand', why: "seed 004's refill-claimed-then-preempted finding, fixed as upstream did" },
  init: (k, opts) => {
    const v = percpuOnDemand.init(k, opts);
    v.ma.ops = { ...memallocOps(), unit_alloc_exit: unitAllocExitRaiseFirst, unit_free_exit: unitFreeExitRaiseFirst };
    return v;
  },
});
