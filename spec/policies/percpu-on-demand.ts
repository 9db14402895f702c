// Seed 000: the size-0 percpu allocator (bpf_global_percpu_ma) created by
// the verifier, with one size bucket set up per object size on demand, at
// the load of the first program that allocates that size.
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { Context } from '../kernel/context.ts';
import { bpfMemCacheIdx, NUM_CACHES, SIZES } from '../memalloc/cache.ts';
import { bpfMemAllocPercpu, bpfMemFreePercpu, percpuMaDestroy } from '../percpu/unit.ts';
import { queueLoadsAtBoot, requestLoad, Verifier } from '../percpu/verifier.ts';
import { PERCPU_SITUATIONS } from '../percpu/situations.ts';
import { definePolicy } from './policy.ts';
import { IRQ_ORDER_FINDING } from './bpf-ma.ts';

/** The object size of a program: the configured one when some bucket fits
 *  it, else the largest bucket (the checker's default sizes are picked for
 *  memalloc.c's watermarks, not for bpf_percpu_obj_new()). */
export function progSize(size: number): number {
  return bpfMemCacheIdx(size) < 0 ? SIZES[NUM_CACHES - 1]! : size;
}

/** A program runs only once its load succeeded; until then it asks for its
 *  load (a kworker runs BPF_PROG_LOAD) and allocates nothing. */
function* allocWhenLoaded(x: Context, v: Verifier, asked: number): Gen<Obj | null> {
  const size = progSize(asked);
  if (!v.loaded.has(bpfMemCacheIdx(size))) {
    yield* requestLoad(x, v, size);
    return null;
  }
  return yield* bpfMemAllocPercpu(x, v.ma, size);
}

export const percpuOnDemand = definePolicy<Verifier>({
  name: 'percpu-on-demand',
  summary: 'bpf_mem_alloc_percpu_init + bpf_mem_alloc_percpu_unit_init (seed 000): percpu buckets set up per size, under the verifier mutex',
  // every object carries a per-CPU unit, in every configuration; its
  // caches are per CPU, and a CPU may go offline holding objects
  faults: ['kmalloc', 'percpu', 'cpu_offline'],
  percpuObjects: true,
  findings: IRQ_ORDER_FINDING,
  situations: PERCPU_SITUATIONS,
  init: (k, opts) => {
    const v = new Verifier(k);
    // every CPU starts loading a program of the configured size at once
    if (opts.size) queueLoadsAtBoot(k, v, progSize(opts.size));
    return v;
  },
  alloc: (x, v, size) => allocWhenLoaded(x, v, size),
  free: (x, v, obj) => bpfMemFreePercpu(x, v.ma, obj),
  destroy: (x, v) => percpuMaDestroy(x, v),
});
