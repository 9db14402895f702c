// memalloc.c's functions as an ops table, the way the kernel carries a
// struct of function pointers: every call from one memalloc.c function to
// another that a variant may want to change goes through the cache's (or
// the allocator's) ops, so a one-line kernel change is a one-function
// variant: `{ ...memallocOps(), unit_free: myUnitFree }` passed as
// InitOptions.ops (spec/policies/bug-*.ts show how).
import { localDec } from '../kernel/atomic.ts';
import type { Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemCacheIdx, type BpfMemCache } from './cache.ts';
import { destroyMemAlloc, drainMemCache, freeMemAlloc, freeMemAllocDeferred, type MaCaches, type MaCopy } from './destroy.ts';
import { __freeRcu, __freeRcuTasksTrace, doCallRcu } from './rcu.ts';
import { __alloc, allocBulk, allocBulkCount, allocBulkEnd, bpfMemRefill, freeBulk, irqWorkRaise } from './refill.ts';
import { unitAlloc, unitAllocExit, unitAllocRaise, unitFree, unitFreeExit, unitFreeRaise } from './unit.ts';

export interface MemallocOps {
  unit_alloc(x: Context, c: BpfMemCache): Gen<Obj | null>;
  unit_free(x: Context, c: BpfMemCache, llnode: Obj): Gen<void>;
  /** seam: unit_alloc() from `local_dec(&c->active)` on (leave 'active',
   *  `local_irq_restore(flags)`, `WARN_ON(cnt < 0)`, the refill check), with
   *  the locals the C has there */
  unit_alloc_exit(x: Context, c: BpfMemCache, flags: boolean, llnode: Obj | null, cnt: number): Gen<void>;
  /** seam: unit_alloc()'s `if (cnt < c->low_watermark) irq_work_raise(c)` */
  unit_alloc_raise(x: Context, c: BpfMemCache, llnode: Obj | null, cnt: number): Gen<void>;
  /** seam: unit_free() from `local_dec(&c->active)` on */
  unit_free_exit(x: Context, c: BpfMemCache, flags: boolean, cnt: number): Gen<void>;
  /** seam: unit_free()'s `if (cnt > c->high_watermark) irq_work_raise(c)` */
  unit_free_raise(x: Context, c: BpfMemCache, cnt: number): Gen<void>;
  irq_work_raise(x: Context, c: BpfMemCache): Gen<void>;
  __alloc(x: Context, c: BpfMemCache): Gen<Obj | null>;
  alloc_bulk(x: Context, c: BpfMemCache, cnt: number): Gen<void>;
  /** seam: alloc_bulk()'s `c->free_cnt++`, under 'active', per object */
  alloc_bulk_count(x: Context, c: BpfMemCache): Gen<void>;
  /** seam: alloc_bulk() after its loop (i objects linked); nothing in seed 004 */
  alloc_bulk_end(x: Context, c: BpfMemCache, i: number): Gen<void>;
  free_bulk(x: Context, c: BpfMemCache): Gen<void>;
  /** the irq_work handler */
  bpf_mem_refill(x: Context, c: BpfMemCache): Gen<void>;
  do_call_rcu(x: Context, c: BpfMemCache): Gen<void>;
  __free_rcu_tasks_trace(x: Context, c: BpfMemCache): Gen<void>;
  __free_rcu(x: Context, c: BpfMemCache): Gen<void>;
  drain_mem_cache(x: Context, c: BpfMemCache): Gen<void>;
  destroy_mem_alloc(x: Context, ma: MaCaches, rcuInProgress: number): Gen<void>;
  free_mem_alloc(x: Context, ma: MaCaches): Gen<void>;
  /** the work item of the deferred teardown path */
  free_mem_alloc_deferred(x: Context, copy: MaCopy): Gen<void>;
  bpf_mem_cache_idx(size: number): number;
  /** seam: `local_dec(&c->active)`, how unit_alloc(), unit_free(),
   *  alloc_bulk() and free_bulk() leave their active section */
  active_exit(x: Context, c: BpfMemCache): Gen<void>;
}

let table: MemallocOps | null = null;

/** memalloc.c as seed 004 has it (built at first use: the functions come
 *  from modules that import this one's users). */
export function memallocOps(): MemallocOps {
  return (table ??= {
    unit_alloc: unitAlloc,
    unit_free: unitFree,
    unit_alloc_exit: unitAllocExit,
    unit_alloc_raise: unitAllocRaise,
    unit_free_exit: unitFreeExit,
    unit_free_raise: unitFreeRaise,
    irq_work_raise: irqWorkRaise,
    __alloc,
    alloc_bulk: allocBulk,
    alloc_bulk_count: allocBulkCount,
    alloc_bulk_end: allocBulkEnd,
    free_bulk: freeBulk,
    bpf_mem_refill: bpfMemRefill,
    do_call_rcu: doCallRcu,
    __free_rcu_tasks_trace: __freeRcuTasksTrace,
    __free_rcu: __freeRcu,
    drain_mem_cache: drainMemCache,
    destroy_mem_alloc: destroyMemAlloc,
    free_mem_alloc: freeMemAlloc,
    free_mem_alloc_deferred: freeMemAllocDeferred,
    bpf_mem_cache_idx: bpfMemCacheIdx,
    active_exit: (x, c) => localDec(x, c.active),
  });
}
