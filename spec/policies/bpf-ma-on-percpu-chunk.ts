// Composition: seed 004's percpu objects (bpf-ma with percpu: true) whose
// __alloc_percpu_gfp()/free_percpu() are served by seed 003's allocator.
// The 2009 API has no gfp argument: memalloc.c's GFP_NOWAIT is lost and
// every call takes pcpu_mutex and populates with GFP_KERNEL.
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { PercpuBackend } from '../kernel/slab.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemAllocInit } from '../memalloc/init.ts';
import { __allocPercpu } from '../percpu_chunk/alloc.ts';
import type { PcpuGeom } from '../percpu_chunk/chunk.ts';
import { freePercpu } from '../percpu_chunk/free.ts';
import { pcpuSituations } from '../percpu_chunk/situations.ts';
import { bpfMa, IRQ_ORDER_FINDING } from './bpf-ma.ts';
import { PCPU_INVARIANTS } from '../../model/invariants.ts';
import { makePcpu, type PcpuState } from './percpu-chunk.ts';
import { definePolicy } from './policy.ts';
import { firesAt, firesIn, lastIn, touches } from './finding.ts';

/** 4 KiB pages: a 64 KiB unit holds memalloc's 8192-byte percpu units. */
export const PAGE_GEOM: PcpuGeom = { pageSize: 4096, staticSize: 20_000 };

/** Seed 003's __alloc_percpu()/free_percpu() behind the engine's percpu calls. */
export function pcpuBackend(k: Kernel, s: PcpuState): PercpuBackend {
  const ctx = (x: Context | null): Context => x ?? k.context(0, 'task', 'boot');
  return {
    state: s,
    *alloc(x: Context | null, size: number, align: number): Gen<unknown> {
      const y = ctx(x);
      const a = yield* __allocPercpu(y, s.p, size, align);
      if (!a) return null;
      const addr = a.chunk.addr + a.off;
      s.model.allocated(y, addr, { name: `pptr@${a.chunk.name}+${a.off}`, chunk: a.chunk, off: a.off, size, align });
      return addr;
    },
    *free(x: Context | null, pptr: unknown): Gen<void> {
      s.model.freed(pptr);
      yield* freePercpu(ctx(x), s.p, pptr as number);
    },
  };
}

export const bpfMaOnPercpuChunk = definePolicy({
  ...bpfMa,
  name: 'bpf-ma-on-percpu-chunk',
  summary: 'bpf-ma (seed 004) with percpu objects whose __alloc_percpu_gfp/free_percpu are seed 003\'s allocator (run it with the percpu configuration)',
  // seed 003's chunk allocator beneath keeps plain state (footprints unknown)
  footprints: 'coarse',
  // bpf-ma's, and the chunk allocator's as it is reached beneath (counted,
  // not expected)
  situations: [...bpfMa.situations!, ...pcpuSituations(true)],
  // memalloc.c's per-CPU caches: a CPU may go offline holding objects
  faults: ['kmalloc', 'page', 'vmap', 'cpu_offline'],
  promises: PCPU_INVARIANTS,
  findings: {
    known: [
      {
        name: 'pcpu-mutex-in-refill-irq-work',
        invariant: 'NoSleepInAtomic',
        signature: "the refill's alloc_bulk() calls __alloc_percpu(), which takes pcpu_mutex in hardirq context (irq_work)",
        match: (w) => firesAt(w, 'hardirq') && firesIn(w, 'alloc_bulk') && firesIn(w, '__alloc_percpu') && touches(w, 'pcpu_mutex'),
      },
      {
        name: 'pcpu-mutex-in-rcu-callback',
        invariant: 'NoSleepInAtomic',
        signature: "an RCU callback's free_one() calls free_percpu(), which takes pcpu_mutex in softirq context",
        match: (w) => firesAt(w, 'softirq') && firesIn(w, 'free_percpu') && touches(w, 'pcpu_mutex'),
      },
      {
        name: 'populate-error-frees-prefilled-pptr',
        invariant: 'PcpuLiveAreaPopulated',
        signature: "a percpu area sits on a page whose pointer was last touched by pcpu_depopulate_chunk() on pcpu_populate_chunk()'s err: path (seed 003's finding, under a kthread refill)",
        last: true,
        match: (w) => lastIn(w, 'pcpu_populate_chunk') && lastIn(w, 'pcpu_depopulate_chunk'),
      },
      ...IRQ_ORDER_FINDING.known,
    ],
    why: `${IRQ_ORDER_FINDING.why}; and ` + "memalloc.c calls __alloc_percpu_gfp(GFP_NOWAIT) from irq_work (alloc_bulk) and free_percpu() from RCU callbacks (free_one); the 2009 __alloc_percpu()/free_percpu() take pcpu_mutex and allocate pages with GFP_KERNEL; with irq_work in a kthread (PREEMPT_RT) seed 003's populate error path frees the page under a prefilled object's pptr",
    doc: 'docs/seed-findings.md#seed-003-the-percpu-chunk-allocator',
  },
  init: (k, opts) => {
    const s = makePcpu(k, PAGE_GEOM);
    s.p.track = false; // its chunks outlive the BPF allocator; percpu bytes are still counted
    k.slab.percpuBackend = pcpuBackend(k, s);
    return bpfMemAllocInit(k, opts);
  },
});
