// Shared set-up for the spec/upstream tests: today's memalloc.c booted on a
// test kernel, a program-owned object (allocated through unit_alloc, so it
// carries its cache hint), list walks, and drivers for the refill irq_work.
import type { Context } from '../../../spec/kernel/context.ts';
import { runIrqWork } from '../../../spec/kernel/irq_work.ts';
import type { Kernel, KernelConfig } from '../../../spec/kernel/kernel.ts';
import type { LlistHead } from '../../../spec/kernel/llist.ts';
import type { Obj } from '../../../spec/kernel/obj.ts';
import { bpfMaUpstream } from '../../../spec/policies/bpf-ma-upstream.ts';
import { BpfMemAllocUp, cachesOf, type BpfMemCacheUp } from '../../../spec/upstream/cache.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

export interface Setup {
  k: Kernel;
  ma: BpfMemAllocUp;
  /** cpu0's and cpu1's cache (fixed size) */
  c0: BpfMemCacheUp;
  c1: BpfMemCacheUp;
}

/** bpf_mem_alloc_init(ma, size, percpu) on a 2-CPU test kernel; 8184 bytes
 *  gives unit 8192: low 1, high 3, batch 1, prefill 1. */
export function setup(size = 8184, percpu = false, over: Partial<KernelConfig> = {}): Setup {
  const k = kernel(over);
  const ma = bpfMaUpstream.init(k, { size, percpu });
  const [c0, c1] = ma.cache ? cachesOf(ma.cache) : [];
  return { k, ma, c0: c0!, c1: c1! };
}

/** An object a program on cpu allocated from c: popped by unit_alloc, with
 *  the hint naming c (kmalloc'd and pushed first if free_llist is empty). */
export function owned(k: Kernel, c: BpfMemCacheUp): Obj {
  const x = ctx(k, c.cpu);
  if (!c.free_llist.first) {
    const o = drive(k.slab.kmalloc(x, c.percpu_size || c.unit_size)).value!;
    if (c.percpu_size) o.pptrBytes = c.unit_size;
    drive(c.ops.add_obj_to_free_list(ctx(k, c.cpu, 'hardirq'), c, o));
  }
  return drive(c.ops.unit_alloc(x, c)).value!;
}

/** Names along a list head or a chain. */
export function names(h: LlistHead | Obj | null): string[] {
  const out: string[] = [];
  let o: Obj | null = h === null ? null : 'field' in h ? h.first : h;
  for (; o && out.length < 100; o = o.next) out.push(o.name);
  return out;
}

export function len(h: LlistHead): number {
  return names(h).length;
}

/** The refill irq_work of c runs on c's CPU (hardirq), if queued. */
export function refill(k: Kernel, c: BpfMemCacheUp): void {
  drive(runIrqWork(ctx(k, c.cpu, 'hardirq'), c.refill_work));
}

/** Step a generator until a step's label matches, returning that label. */
export function stepUntil(g: Generator<string, unknown, void>, re: RegExp): string {
  for (let r = g.next(); !r.done; r = g.next()) if (re.test(r.value)) return r.value;
  throw new Error(`no step matched ${re}`);
}

export type { Context };
