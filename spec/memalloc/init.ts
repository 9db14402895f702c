// memalloc.c: prefill_mem_cache(), bpf_mem_alloc_init().
import type { Context } from '../kernel/context.ts';
import { initIrqWork } from '../kernel/irq_work.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { runToEnd } from '../kernel/sched.ts';
import type { Gen } from '../kernel/types.ts';
import { BpfMemAlloc, BpfMemCache, LLIST_NODE_SZ, NUM_CACHES, PercpuCaches, SIZES } from './cache.ts';
import { allocBulk } from './refill.ts';
import { memallocOps, type MemallocOps } from './ops.ts';

/** Watermarks and batch of a cache, as prefill_mem_cache() sets them. */
export function watermarks(unitSize: number): { low: number; high: number; batch: number } {
  let low: number;
  let high: number;
  if (unitSize <= 256) {
    low = 32;
    high = 96;
  } else {
    low = Math.max(Math.trunc((32 * 256) / unitSize), 1);
    high = Math.max(Math.trunc((96 * 256) / unitSize), 3);
  }
  const batch = Math.max(Math.trunc((high - low) / 4) * 3, 1);
  return { low, high, batch };
}

/** Objects prefill_mem_cache() puts in a new cache. */
export function prefillCount(unitSize: number): number {
  return unitSize <= 256 ? 4 : 1;
}

export function* prefillMemCache(x: Context, c: BpfMemCache): Gen<void> {
  initIrqWork(x, c.refill_work);
  const w = watermarks(c.unit_size);
  c.low_watermark = w.low;
  c.high_watermark = w.high;
  c.batch = w.batch;
  // the first run of a program is assumed to do at most 4 updates with IRQs off
  yield* allocBulk(x, c, prefillCount(c.unit_size));
}

export interface InitOptions {
  /** 0: size buckets (bpf_mem_alloc/bpf_mem_free); else bpf_mem_cache_* */
  size: number;
  percpu: boolean;
  /** the irq_work handler; policies built on memalloc.c may swap it */
  refill?: (x: Context, c: BpfMemCache) => Gen<void>;
  /** memalloc.c's functions; a variant overrides one (spec/memalloc/ops.ts) */
  ops?: MemallocOps;
  /** called for each new cache before prefill (policy state in c.ext) */
  setupCache?: (c: BpfMemCache) => void;
}

/** bpf_mem_alloc_init(), run at boot on each CPU in turn. */
export function bpfMemAllocInit(k: Kernel, opts: InitOptions): BpfMemAlloc {
  const ma = new BpfMemAlloc();
  const base = opts.ops ?? memallocOps();
  const ops = opts.refill ? { ...base, bpf_mem_refill: opts.refill } : base;
  ma.ops = ops;
  let size = opts.size;
  const make = (name: string, cpu: number, unit: number, percpuSize: number): BpfMemCache => {
    const c = new BpfMemCache(name, cpu, unit, percpuSize, ops);
    opts.setupCache?.(c);
    c.register(k);
    runToEnd(prefillMemCache(k.context(cpu, 'task', 'boot'), c));
    return c;
  };
  if (size) {
    let percpuSize = 0;
    if (opts.percpu) percpuSize = LLIST_NODE_SZ + 8; // llist_node + percpu pointer
    else size += LLIST_NODE_SZ;
    ma.percpu = opts.percpu;
    const caches = k.cpus.map((_, cpu) => make(`c[cpu${cpu}]`, cpu, size, percpuSize));
    ma.cache = new PercpuCaches('ma->cache', caches);
    k.slab.structs.add(ma.cache);
    return ma;
  }
  if (opts.percpu) throw new Error('bpf_mem_alloc_init: size == 0 && percpu is invalid (WARN_ON_ONCE)');
  const caches: BpfMemCache[] = [];
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    for (let i = 0; i < NUM_CACHES; i++) caches.push(make(`c[cpu${cpu}][${SIZES[i]}]`, cpu, SIZES[i]!, 0));
  }
  ma.caches = new PercpuCaches('ma->caches', caches);
  k.slab.structs.add(ma.caches);
  return ma;
}
