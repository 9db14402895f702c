// The baseline: kernel/bpf/memalloc.c as in seed 004.
import { LLIST_NODE_SZ, type BpfMemAlloc } from '../memalloc/cache.ts';
import { bpfMemAllocDestroy } from '../memalloc/destroy.ts';
import { bpfMemAllocInit } from '../memalloc/init.ts';
import { bpfMemAlloc, bpfMemCacheAlloc, bpfMemCacheFree, bpfMemFree } from '../memalloc/unit.ts';
import { definePolicy, type AllocOptions } from './policy.ts';
import { MEMALLOC_SITUATIONS } from '../memalloc/situations.ts';
import { memallocOps, type MemallocOps } from '../memalloc/ops.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { MEMALLOC_SCENARIOS } from '../memalloc/scenarios.ts';
import { touches, withIn, type Finding } from './finding.ts';

/** Seed 004's unit_alloc()/unit_free() re-enable IRQs before
 *  irq_work_raise(): a task preempted between irq_work_claim() and the
 *  queueing leaves the refill pending where nothing runs it (fixed upstream
 *  by 62cf51cb0ebe and 566f6de3cea3). Every policy built on these two
 *  functions inherits the finding. */
export const REFILL_CLAIMED_THEN_PREEMPTED: Finding = {
  name: 'refill-claimed-then-preempted',
  invariant: 'NoAllocFailureWhileRefillStalled',
  signature: "a task's allocation returns NULL while its cache's refill_work was claimed by a task preempted in irq_work_raise() under unit_alloc() or unit_free(), after local_irq_restore()",
  match: (w) => touches(w, 'refill_work') && w.with.length === 1 && w.with.every((p) => p.level === 'task') && withIn(w, 'irq_work_raise') && withIn(w, 'unit_alloc', 'unit_free'),
};

export const IRQ_ORDER_FINDING = {
  known: [REFILL_CLAIMED_THEN_PREEMPTED],
  why: "seed 004's unit_alloc()/unit_free() restore IRQs before irq_work_raise(): a task preempted between irq_work_claim() and the queueing stalls the refill, and a preempting task's allocation fails with memory free",
  doc: 'docs/seed-findings.md#seed-004-memallocc',
};

export const bpfMa = definePolicy<BpfMemAlloc>({
  name: 'bpf-ma',
  summary: 'kernel/bpf/memalloc.c (seed 004): per-CPU caches, free_llist_extra, irq_work refill, RCU freeing',
  // every shared field sits behind a primitive or a fields.ts accessor
  footprints: 'exact',
  situations: MEMALLOC_SITUATIONS,
  header: LLIST_NODE_SZ,
  findings: IRQ_ORDER_FINDING,
  scenarios: MEMALLOC_SCENARIOS,
  init: (k, opts) => bpfMemAllocInit(k, opts),
  alloc: (x, ma, size) => (ma.cache ? bpfMemCacheAlloc(x, ma) : bpfMemAlloc(x, ma, size)),
  free: (x, ma, obj) => (ma.cache ? bpfMemCacheFree(x, ma, obj) : bpfMemFree(x, ma, obj)),
  destroy: (x, ma) => bpfMemAllocDestroy(x, ma),
});

/** The init hook of bpf-ma with some memalloc.c functions replaced: a
 *  one-function variant spreads bpfMa and overrides init with this. */
export function withOps(over: Partial<MemallocOps>): (k: Kernel, opts: AllocOptions) => BpfMemAlloc {
  return (k, opts) => bpfMemAllocInit(k, { ...opts, ops: { ...memallocOps(), ...over } });
}
