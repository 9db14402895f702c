// RFC (seed 001): bpf_mem_alloc_init() with BPF_MA_REUSE_AFTER_RCU_GP sets
// c->cpu (already in the baseline spec) and INIT_WORK(&c->reuse_work);
// bpf_ma_init() allocates bpf_ma_wq (a bound workqueue: nothing to model).
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import type { MemallocOps } from '../memalloc/ops.ts';
import { bpfMemAllocInit } from '../memalloc/init.ts';
import { use } from '../kernel/fields.ts';
import type { AllocOptions } from '../policies/policy.ts';
import { ReuseCache, type ReuseWorkFn } from './cache.ts';
import { BPF_MA_PERCPU, BPF_MA_REUSE_AFTER_RCU_GP, type ReuseMa } from './destroy.ts';
import { reuseOps, type ReuseOps } from './ops.ts';
import { bpfMemRefill } from './refill.ts';
import { bpfMaPrepareReuseWork } from './work.ts';

export interface ReuseInitOptions {
  /** the function bound to c->reuse_work; default bpf_ma_prepare_reuse_work */
  work?: ReuseWorkFn;
  workName?: string;
  /** memalloc.c's functions (unit_alloc, ...); default seed 004's */
  ops?: MemallocOps;
  /** the irq_work handler; default the RFC's bpf_mem_refill() */
  refill?: (x: Context, c: BpfMemCache) => Gen<void>;
  /** the RFC's functions a flavour or control replaces (spec/reuse/ops.ts) */
  reuseOps?: Partial<ReuseOps>;
}

export function bpfMaReuseInit(k: Kernel, opts: AllocOptions, o: ReuseInitOptions = {}): ReuseMa {
  const work = o.work ?? bpfMaPrepareReuseWork;
  const workName = o.workName ?? 'bpf_ma_prepare_reuse_work';
  const rops = o.reuseOps ? { ...reuseOps(), ...o.reuseOps } : reuseOps();
  const ma = bpfMemAllocInit(k, {
    ...opts,
    ops: o.ops,
    refill: o.refill ?? bpfMemRefill,
    setupCache: (c) => {
      const r = new ReuseCache(c, work, workName, rops);
      c.ext = r;
      r.register(k);
    },
  });
  // ma->flags: a plain field of struct bpf_mem_alloc, read through fields.ts
  let flags = BPF_MA_REUSE_AFTER_RCU_GP | (opts.percpu ? BPF_MA_PERCPU : 0);
  Object.defineProperty(ma, 'flags', {
    get: () => {
      use(ma, 'flags');
      return flags;
    },
    set: (v: number) => {
      use(ma, 'flags', true);
      flags = v;
    },
  });
  return ma as ReuseMa;
}
