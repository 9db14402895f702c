// memalloc.c today: init_refill_work(), prefill_mem_cache(),
// bpf_mem_alloc_init(), bpf_mem_alloc_percpu_init(),
// bpf_mem_alloc_percpu_unit_init() (seed 000, merged).
//
// Against seed 004 (spec/memalloc/init.ts): every cache starts with
// c->tgt = c; per-CPU caches get low 1, high 3 (batch 1) and a prefill of
// one object; prefill allocates with GFP_KERNEL (alloc_bulk(..., false));
// size 0 with percpu is -EINVAL, and the global per-CPU allocator is set up
// per size on demand instead (spec/percpu/ modelled seed 000's patch).
import { kfunc, type Context } from '../kernel/context.ts';
import { initIrqWork } from '../kernel/irq_work.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { runToEnd } from '../kernel/sched.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemCacheIdx, LLIST_NODE_SZ, NUM_CACHES, PercpuCaches, SIZES } from '../memalloc/cache.ts';
import { prefillCount, watermarks } from '../memalloc/init.ts';
import { EINVAL, ENOMEM } from '../percpu/init.ts';
import { Field } from '../kernel/fields.ts';
import { BpfMemAllocUp, BpfMemCacheUp, cacheName, type UpstreamOps } from './cache.ts';

export { EINVAL, ENOMEM };

/** room for llist_node and the per-CPU pointer */
export const PERCPU_SIZE = LLIST_NODE_SZ + 8;

/** init_refill_work(): the irq_work and the watermarks. */
export function init_refill_work(x: Context, c: BpfMemCacheUp): void {
  initIrqWork(x, c.refill_work);
  // seed 004's arithmetic for the others; per-CPU caches keep few objects
  const w = c.percpu_size ? { low: 1, high: 3 } : watermarks(c.unit_size);
  c.low_watermark = w.low;
  c.high_watermark = w.high;
  c.batch = Math.max(Math.trunc((c.high_watermark - c.low_watermark) / 4) * 3, 1);
}

/** prefill_mem_cache(): 4 objects up to 256 bytes (not per-CPU), else 1;
 *  GFP_KERNEL. */
export const prefill_mem_cache = kfunc('prefill_mem_cache', function* (x: Context, c: BpfMemCacheUp, cpu: number): Gen<void> {
  void cpu; // cpu_to_node(cpu)
  const cnt = c.percpu_size ? 1 : prefillCount(c.unit_size);
  yield* c.ops.alloc_bulk(x, c, cnt, false);
});

/** A cache as bpf_mem_alloc_init() sets it up: tgt = c, refill work,
 *  prefilled on its CPU. */
function* setUpCache(x: Context, c: BpfMemCacheUp): Gen<void> {
  c.register(x.k);
  c.ops.init_refill_work(x, c);
  yield* c.ops.prefill_mem_cache(x, c, c.cpu);
}

/** bpf_mem_alloc_init(ma, size, percpu), at boot on each CPU in turn.
 *  Returns 0 or -EINVAL (size 0 with percpu). The percpu allocation of the
 *  caches does not fail at boot (no fault is armed yet). */
export function bpf_mem_alloc_init(k: Kernel, ma: BpfMemAllocUp, size: number, percpu: boolean): number {
  if (percpu && size === 0) return EINVAL;
  const percpuSize = percpu ? PERCPU_SIZE : 0;
  ma.percpu = percpu;
  const boot = (cpu: number): Context => k.context(cpu, 'task', 'boot');
  if (size) {
    if (!percpu) size += LLIST_NODE_SZ; // room for llist_node
    const caches = k.cpus.map((_, cpu) => new BpfMemCacheUp(cacheName(cpu, null), cpu, size, percpuSize, ma.ops));
    for (const c of caches) runToEnd(setUpCache(boot(c.cpu), c));
    ma.cache = new PercpuCaches('ma->cache', caches);
    k.slab.structs.add(ma.cache);
    return 0;
  }
  const caches: BpfMemCacheUp[] = [];
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    for (let i = 0; i < NUM_CACHES; i++) {
      const c = new BpfMemCacheUp(cacheName(cpu, i), cpu, SIZES[i]!, percpuSize, ma.ops);
      caches.push(c);
      runToEnd(setUpCache(boot(cpu), c));
    }
  }
  ma.caches = new PercpuCaches('ma->caches', caches);
  k.slab.structs.add(ma.caches);
  return 0;
}

/** bpf_mem_alloc_percpu_init(): the zeroed per-CPU bpf_mem_caches of the
 *  global per-CPU allocator (__alloc_percpu_gfp(GFP_KERNEL), which may
 *  fail); no bucket is set up yet. */
export const bpf_mem_alloc_percpu_init = kfunc('bpf_mem_alloc_percpu_init', function* (x: Context, ma: BpfMemAllocUp): Gen<number> {
  const slab = x.k.slab;
  const ok = !slab.fails('percpu');
  x.touched = 'percpu';
  yield `__alloc_percpu_gfp(sizeof(struct bpf_mem_caches)) = ${ok ? 'pcc' : 'NULL'}`;
  if (!ok) return ENOMEM;
  const caches: BpfMemCacheUp[] = [];
  // zeroed: unit_size 0 (the C's tgt is NULL too; nothing reads it before
  // bpf_mem_alloc_percpu_unit_init() replaces the cache)
  for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) {
    for (let i = 0; i < NUM_CACHES; i++) caches.push(new BpfMemCacheUp(cacheName(cpu, i), cpu, 0, 0, ma.ops));
  }
  const pcc = new PercpuCaches('ma->caches', caches);
  slab.structs.add(pcc);
  ma.caches = pcc;
  ma.percpu = true;
  yield 'ma->caches = pcc; ma->objcg = objcg; ma->percpu = true';
  return 0;
});

/** bpf_mem_alloc_percpu_unit_init(): set up bucket bpf_mem_cache_idx(size)
 *  on every CPU; a CPU whose bucket has a unit_size already ends the loop
 *  (an earlier load set it up). The caller holds bpf_percpu_ma_lock. The
 *  zeroed cache is replaced by the set-up one (seed 000's model): nothing
 *  refers to a bucket before it is set up. */
export const bpf_mem_alloc_percpu_unit_init = kfunc('bpf_mem_alloc_percpu_unit_init', function* (x: Context, ma: BpfMemAllocUp, size: number): Gen<number> {
  const i = bpfMemCacheIdx(size);
  if (i < 0) return EINVAL;
  const pcc = ma.caches!;
  for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) {
    const at = cpu * NUM_CACHES + i;
    const old = pcc.caches[at]!;
    x.k.touch(x, old, 'unit_size');
    x.target = new Field(old, 'unit_size');
    yield `load c->unit_size (${old.unit_size})`;
    if (old.unit_size) break;
    const c = new BpfMemCacheUp(cacheName(cpu, i), cpu, SIZES[i]!, PERCPU_SIZE, ma.ops);
    pcc.caches[at] = c;
    x.touched = c.name;
    yield `${c.name}: unit_size = ${c.unit_size}, percpu_size = ${PERCPU_SIZE}, tgt = c`;
    yield* setUpCache(x, c);
  }
  return 0;
});
