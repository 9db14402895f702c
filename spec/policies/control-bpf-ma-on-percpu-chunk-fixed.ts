// Control: bpf-ma-on-percpu-chunk with every known finding fixed.
//
// 1. The percpu allocator beneath is seed 003's with the 2014 locking that
//    made __alloc_percpu_gfp(GFP_NOWAIT) possible (spec/percpu_chunk/
//    atomic.ts, balance.ts): an atomic allocation takes only pcpu_lock
//    (spin_lock_irqsave), serves only pages published in chunk->populated,
//    makes no chunk, populates nothing and grows no map; free_percpu()
//    frees under pcpu_lock and leaves chunk reclaim to pcpu_balance_workfn(),
//    a kworker that populates pages, makes chunks and extends maps under
//    pcpu_alloc_mutex and publishes pages only after their populate
//    succeeded (pcpu-mutex-in-refill-irq-work, pcpu-mutex-in-rcu-callback,
//    populate-error-frees-prefilled-pptr).
//    The refill keeps working: the first chunk is populated at boot (as
//    upstream's pcpu_setup_first_chunk() does), every allocation leaving
//    fewer than 2 free populated pages and every failed one queues the
//    balance work, which populates up to 4 (two 8192-byte units' worth on
//    each CPU) or makes a chunk; a refill that found no room is followed by
//    one that finds it (model/percpu_atomic.ts judges that).
// 2. Seed 003's own three fixes (control/percpu-chunk-fixed's ops: the
//    populate error path frees only its own pages, the _safe slot walk,
//    the relocation after a failed split).
// 3. Seed 004's unit_alloc()/unit_free() with irq_work_raise() before
//    local_irq_restore() (control/bpf-ma-raise-before-restore).
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { PercpuBackend } from '../kernel/slab.ts';
import type { Gen } from '../kernel/types.ts';
import { freePercpuAtomic, PcpuAtomic, pcpuAllocAtomic, pcpuSetupFirstChunkPopulated, type PcpuAtomicOps } from '../percpu_chunk/atomic.ts';
import { bpfMaOnPercpuChunk, PAGE_GEOM } from './bpf-ma-on-percpu-chunk.ts';
import { withOps } from './bpf-ma.ts';
import { unitAllocExitRaiseFirst, unitFreeExitRaiseFirst } from './control-bpf-ma-raise-before-restore.ts';
import { PCPU_FIXES } from './control-percpu-chunk-fixed.ts';
import { makePcpu, type PcpuState } from './percpu-chunk.ts';
import { definePolicy, type AllocOptions, type Policy } from './policy.ts';
import type { BpfMemAlloc } from '../memalloc/cache.ts';
import { DEFAULT_OPS } from '../percpu_chunk/ops.ts';
import { PcpuAtomicPoolModel } from '../../model/percpu_atomic.ts';

/** __alloc_percpu_gfp(GFP_NOWAIT)/free_percpu() of the 2014 locking behind
 *  the engine's percpu calls. */
export function pcpuAtomicBackend(k: Kernel, s: PcpuState, a: PcpuAtomic): PercpuBackend {
  const ctx = (x: Context | null): Context => x ?? k.context(0, 'task', 'boot');
  return {
    state: { s, a },
    *alloc(x: Context | null, size: number, align: number): Gen<unknown> {
      const y = ctx(x);
      const r = yield* pcpuAllocAtomic(y, a, size, align);
      if (!r) return null;
      const addr = r.chunk.addr + r.off;
      s.model.allocated(y, addr, { name: `pptr@${r.chunk.name}+${r.off}`, chunk: r.chunk, off: r.off, size, align });
      return addr;
    },
    *free(x: Context | null, pptr: unknown): Gen<void> {
      s.model.freed(pptr);
      yield* freePercpuAtomic(ctx(x), a, pptr as number);
    },
  };
}

/** seed 003's ops with control/percpu-chunk-fixed's three fixes */
export const PCPU_FIXED_OPS = { ...DEFAULT_OPS, ...PCPU_FIXES };

/** The init hook: memalloc.c with the upstream exits, on the 2014 percpu
 *  locking with seed 003's fixes; `atomic` overrides a seam of the latter. */
export function onPercpuAtomic(atomic: Partial<PcpuAtomicOps> = {}): (k: Kernel, opts: AllocOptions) => BpfMemAlloc {
  const init = withOps({ unit_alloc_exit: unitAllocExitRaiseFirst, unit_free_exit: unitFreeExitRaiseFirst });
  return (k, opts) => {
    const s = makePcpu(k, PAGE_GEOM, PCPU_FIXED_OPS);
    s.p.track = false; // its chunks outlive the BPF allocator; percpu bytes are still counted
    const a = new PcpuAtomic(s.p);
    a.ops = { ...a.ops, ...atomic };
    pcpuSetupFirstChunkPopulated(a);
    const pool = new PcpuAtomicPoolModel(k, a);
    a.observer = pool;
    k.audited.push(pool);
    k.slab.percpuBackend = pcpuAtomicBackend(k, s, a);
    return init(k, opts);
  };
}

export const bpfMaOnPercpuChunkFixed: Policy<BpfMemAlloc> = definePolicy({
  ...bpfMaOnPercpuChunk,
  name: 'control/bpf-ma-on-percpu-chunk-fixed',
  summary: "bpf-ma-on-percpu-chunk with the 2014 percpu locking (GFP_NOWAIT under pcpu_lock from populated pages; pcpu_balance_workfn() populates, makes and frees chunks), seed 003's three fixes and upstream's raise-before-restore",
  findings: undefined,
  control: {
    of: 'bpf-ma-on-percpu-chunk',
    why: "the composition's findings fixed as upstream did: __alloc_percpu_gfp(GFP_NOWAIT)/free_percpu() under pcpu_lock only, pages populated and published by the balance work (Tejun Heo's 2014 series), seed 003's populate/slot-walk/split fixes, and irq_work_raise() before local_irq_restore()",
  },
  init: onPercpuAtomic(),
});
