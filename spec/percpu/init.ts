// memalloc.c after seed 000: bpf_mem_alloc_percpu_init() allocates the
// per-CPU bpf_mem_caches, all zeroed; bpf_mem_alloc_percpu_unit_init() sets
// up and prefills one size bucket on every CPU, once per size.
import { load } from '../kernel/atomic.ts';
import { Field } from '../kernel/fields.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import type { Gen } from '../kernel/types.ts';
import { BpfMemAlloc, BpfMemCache, bpfMemCacheIdx, LLIST_NODE_SZ, NUM_CACHES, PercpuCaches, SIZES } from '../memalloc/cache.ts';
import { prefillMemCache } from '../memalloc/init.ts';
import { memallocOps, type MemallocOps } from '../memalloc/ops.ts';

export const EINVAL = -22;
export const ENOMEM = -12;

/** room for llist_node and the per-CPU pointer */
export const PERCPU_SIZE = LLIST_NODE_SZ + 8;

function cacheName(cpu: number, i: number): string {
  return `c[cpu${cpu}][${SIZES[i]}]`;
}

/** A zeroed struct bpf_mem_cache (unit_size == 0: not set up). */
function zeroedCache(cpu: number, i: number, ops: MemallocOps): BpfMemCache {
  return new BpfMemCache(cacheName(cpu, i), cpu, 0, 0, ops);
}

/** bpf_mem_alloc_percpu_init(): __alloc_percpu_gfp(sizeof(struct
 *  bpf_mem_caches), 8, GFP_KERNEL), which may fail. */
export const bpfMemAllocPercpuInit = kfunc('bpf_mem_alloc_percpu_init', function* (x: Context, ma: BpfMemAlloc): Gen<number> {
  const slab = x.k.slab;
  const ok = !slab.fails('percpu');
  x.touched = 'percpu';
  yield `__alloc_percpu_gfp(sizeof(struct bpf_mem_caches)) = ${ok ? 'pcc' : 'NULL'}`;
  if (!ok) return ENOMEM;
  const caches: BpfMemCache[] = [];
  // ma->ops: memalloc.c's functions (a control replaces some; spec/memalloc/ops.ts)
  const ops = ma.ops ?? memallocOps();
  for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) for (let i = 0; i < NUM_CACHES; i++) caches.push(zeroedCache(cpu, i, ops));
  const pcc = new PercpuCaches('ma->caches', caches);
  slab.structs.add(pcc);
  ma.caches = pcc;
  ma.percpu = true;
  yield 'ma->caches = pcc; ma->percpu = true';
  return 0;
});

/** bpf_mem_alloc_percpu_unit_init(): the caller holds bpf_percpu_ma_lock. */
export const bpfMemAllocPercpuUnitInit = kfunc('bpf_mem_alloc_percpu_unit_init', function* (x: Context, ma: BpfMemAlloc, size: number): Gen<number> {
  const i = bpfMemCacheIdx(size);
  if (i < 0) return EINVAL;
  const pcc = ma.caches!;
  for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) {
    const at = cpu * NUM_CACHES + i;
    const old = pcc.caches[at]!;
    if (cpu === 0) {
      // once per size: cpu0's unit_size says an earlier load set it up
      x.k.touch(x, old, 'unit_size');
      x.target = new Field(old, 'unit_size');
      yield `load c->unit_size (${old.unit_size})`;
      if (old.unit_size) break;
    }
    // c->unit_size, objcg, percpu_size, tgt; init_refill_work(); prefill
    const c = new BpfMemCache(cacheName(cpu, i), cpu, SIZES[i]!, PERCPU_SIZE, ma.ops ?? memallocOps());
    pcc.caches[at] = c;
    c.register(x.k);
    x.touched = c.name;
    yield `${c.name}: unit_size = ${c.unit_size}, percpu_size = ${PERCPU_SIZE}`;
    yield* prefillMemCache(x, c);
  }
  return 0;
});

/** The pre-seed-000 behaviour measured for comparison: every bucket of a
 *  size-0 percpu allocator set up and prefilled at once (what
 *  bpf_mem_alloc_init(ma, 0, true) did after commit 41a5db8d8161). */
export function* percpuInitAllBuckets(x: Context, ma: BpfMemAlloc): Gen<number> {
  const err = yield* bpfMemAllocPercpuInit(x, ma);
  if (err) return err;
  for (let i = 0; i < NUM_CACHES; i++) yield* bpfMemAllocPercpuUnitInit(x, ma, SIZES[i]!);
  return 0;
}

/** Is bucket idx set up on cpu? (an uninitialised one has unit_size 0) */
export function unitReady(ma: BpfMemAlloc, cpu: number, idx: number): boolean {
  return !!ma.caches && ma.caches.caches[cpu * NUM_CACHES + idx]!.unit_size !== 0;
}
