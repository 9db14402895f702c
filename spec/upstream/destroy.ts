// memalloc.c today: drain_mem_cache(), check_mem_cache(),
// check_leaked_objs(), free_mem_alloc_no_barrier(), free_mem_alloc(),
// free_mem_alloc_deferred(), destroy_mem_alloc(), bpf_mem_alloc_destroy().
//
// Against seed 004 (spec/memalloc/destroy.ts): bpf_mem_alloc_destroy() sets
// c->draining before it syncs and drains each cache, and counts both
// call_rcu_ttrace_in_progress and call_rcu_in_progress; drain_mem_cache()
// empties seven lists; free_mem_alloc() waits for __free_by_rcu() with an
// rcu_barrier() first; free_mem_alloc_no_barrier() first checks, with a
// WARN_ON_ONCE per list (check_leaked_objs()), that nothing is left.
import { atomicRead, store } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { irqWorkSync } from '../kernel/irq_work.ts';
import { __llistDelAll, llistEmpty, type LlistHead } from '../kernel/llist.ts';
import { llistDelAll } from '../kernel/llist_cmpxchg.ts';
import { rcuBarrier, rcuBarrierTasksTrace } from '../kernel/rcupdate.ts';
import type { Gen } from '../kernel/types.ts';
import { queueWork, Work } from '../kernel/workqueue.ts';
import { freePercpuCaches } from '../memalloc/destroy.ts';
import { cachesOf, type BpfMemCacheUp, type MaCopy, type MaUp } from './cache.ts';

/** drain_mem_cache(): no program uses the cache; empty every list. The
 *  _ttrace lists and waiting_for_gp may still be written by callbacks and
 *  other CPUs' irq_work (llist_del_all()); the others are this cache's. */
export const drain_mem_cache = kfunc('drain_mem_cache', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  const free = c.ops.free_all;
  yield* free(x, c, yield* llistDelAll(x, c.free_by_rcu_ttrace));
  yield* free(x, c, yield* llistDelAll(x, c.waiting_for_gp_ttrace));
  yield* free(x, c, yield* __llistDelAll(x, c.free_llist));
  yield* free(x, c, yield* __llistDelAll(x, c.free_llist_extra));
  yield* free(x, c, yield* __llistDelAll(x, c.free_by_rcu));
  yield* free(x, c, yield* __llistDelAll(x, c.free_llist_extra_rcu));
  yield* free(x, c, yield* llistDelAll(x, c.waiting_for_gp));
});

/** The lists check_mem_cache() looks at, in its order. */
export const CHECKED_LISTS = [
  'free_by_rcu_ttrace',
  'waiting_for_gp_ttrace',
  'free_llist',
  'free_llist_extra',
  'free_by_rcu',
  'free_llist_extra_rcu',
  'waiting_for_gp',
] as const;

/** check_mem_cache(): a WARN_ON_ONCE for each list that is not empty. */
export const check_mem_cache = kfunc('check_mem_cache', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  for (const field of CHECKED_LISTS) {
    const h = c[field] as LlistHead;
    WARN_ON_ONCE(x, !(yield* llistEmpty(x, h)), `WARN_ON_ONCE(!llist_empty(&c->${field})) [${c.name}]`);
  }
});

export const check_leaked_objs = kfunc('check_leaked_objs', function* (x: Context, ma: MaUp): Gen<void> {
  if (ma.cache) for (const c of cachesOf(ma.cache)) yield* ma.ops.check_mem_cache(x, c);
  if (ma.caches) for (const c of cachesOf(ma.caches)) yield* ma.ops.check_mem_cache(x, c);
});

export const free_mem_alloc_no_barrier = kfunc('free_mem_alloc_no_barrier', function* (x: Context, ma: MaUp): Gen<void> {
  yield* ma.ops.check_leaked_objs(x, ma);
  yield* freePercpuCaches(x, ma.cache);
  yield* freePercpuCaches(x, ma.caches);
  ma.cache = null;
  ma.caches = null;
});

/** free_mem_alloc(): the lists were drained, but callbacks may still run:
 *  __free_by_rcu() (normal RCU), which may queue __free_rcu_tasks_trace(),
 *  which may queue __free_rcu() (normal RCU unless implied). */
export const free_mem_alloc = kfunc('free_mem_alloc', function* (x: Context, ma: MaUp): Gen<void> {
  yield* rcuBarrier(x); // wait for __free_by_rcu
  yield* rcuBarrierTasksTrace(x); // wait for __free_rcu
  if (!x.k.cfg.rcuTraceImpliesRcuGp) yield* rcuBarrier(x);
  yield* ma.ops.free_mem_alloc_no_barrier(x, ma);
});

export function* free_mem_alloc_deferred(x: Context, copy: MaCopy): Gen<void> {
  yield* copy.ops.free_mem_alloc(x, copy);
  yield* x.k.slab.kfreeAux(x, copy.aux);
}

/** destroy_mem_alloc(): fast path, inline barriers, or a deferred worker. */
export const destroy_mem_alloc = kfunc('destroy_mem_alloc', function* (x: Context, ma: MaUp, rcuInProgress: number): Gen<void> {
  if (!rcuInProgress) {
    // no callbacks pending: no barriers needed
    yield* ma.ops.free_mem_alloc_no_barrier(x, ma);
    return;
  }
  const aux = yield* x.k.slab.kmallocAux(x, 'copy');
  if (!aux) {
    yield* ma.ops.free_mem_alloc(x, ma); // slow path with inline barriers
    return;
  }
  // copy = kmemdup(ma); memset(ma, 0); INIT_WORK(&copy->work, ...)
  const copy: MaCopy = {
    cache: ma.cache,
    caches: ma.caches,
    ops: ma.ops,
    aux,
    work: new Work(aux, 'work', (y) => ma.ops.free_mem_alloc_deferred(y, copy), 'free_mem_alloc_deferred'),
  };
  ma.cache = null;
  ma.caches = null;
  yield* queueWork(x, copy.work, true);
});

/** The per-cache part of bpf_mem_alloc_destroy(). */
function* drainAndCount(x: Context, c: BpfMemCacheUp): Gen<number> {
  yield* store(x, c.draining, 1); // WRITE_ONCE(c->draining, true)
  yield* irqWorkSync(x, c.refill_work);
  yield* c.ops.drain_mem_cache(x, c);
  let n = yield* atomicRead(x, c.call_rcu_ttrace_in_progress);
  n += yield* atomicRead(x, c.call_rcu_in_progress);
  return n;
}

/** bpf_mem_alloc_destroy() */
export const bpf_mem_alloc_destroy = kfunc('bpf_mem_alloc_destroy', function* (x: Context, ma: MaUp): Gen<void> {
  if (ma.cache) {
    let rcuInProgress = 0;
    for (const c of cachesOf(ma.cache)) rcuInProgress += yield* drainAndCount(x, c);
    // obj_cgroup_put(ma->objcg): no memory cgroups in the model
    yield* ma.ops.destroy_mem_alloc(x, ma, rcuInProgress);
  }
  if (ma.caches) {
    let rcuInProgress = 0;
    for (const c of cachesOf(ma.caches)) rcuInProgress += yield* drainAndCount(x, c);
    yield* ma.ops.destroy_mem_alloc(x, ma, rcuInProgress);
  }
});
