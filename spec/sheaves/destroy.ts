// mm/slab_common.c and mm/slub.c, a cache's life: kmem_cache_create()'s
// init_kmem_cache_nodes() and init_percpu_sheaves() (at boot: no steps, no
// faults), and kmem_cache_destroy(): kvfree_rcu_barrier_on_cache(),
// defer_free_barrier(), __kmem_cache_shutdown() (flush_all_cpus_locked(),
// rcu_barrier(), barn_shrink() and free_partial() per node, the "still has
// objects" WARN), then __kmem_cache_release(): pcs_destroy() and
// free_kmem_cache_nodes() with their WARNs.
//
// Elided: slab_mutex, cpus_read_lock(), refcounts of merged caches (every
// cache here has one user), KASAN's cache shutdown, sysfs and debugfs,
// SLAB_TYPESAFE_BY_RCU's extra rcu_barrier() (no cache here has it).
import type { Kernel } from '../kernel/kernel.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { WARN_ON } from '../kernel/bug.ts';
import { numa } from '../kernel/numa.ts';
import { rcuBarrier } from '../kernel/rcupdate.ts';
import type { Gen } from '../kernel/types.ts';
import { barnShrink, NodeBarn } from './barn.ts';
import { flushAllCpusLocked } from './flush.ts';
import { deferFreeBarrier } from './nolock.ts';
import type { SheavesOps } from './ops.ts';
import { cacheHasSheaves, freeEmptySheaf, KmemCache, newSheaf, SlubPercpuSheaves } from './pcs.ts';
import { kvfreeRcuBarrierOnCache } from './rcu.ts';
import { freePartial, KmemCacheNode } from './slab.ts';

/** kmem_cache_create(name, size) at boot: a kmem_cache_node and a barn
 *  on every node with memory (slab_nodes), an empty main sheaf per CPU. */
export function kmemCacheCreate(k: Kernel, name: string, size: number, ops?: SheavesOps): KmemCache {
  const s = new KmemCache(k, name, size, ops);
  k.slab.structs.add(s);
  const t = numa(k);
  for (let node = 0; node < t.nodes; node++) {
    if (!t.hasMemory[node]) {
      s.node.push(null);
      continue;
    }
    const barn = cacheHasSheavesCapacity(s) ? new NodeBarn(s, node) : null;
    if (barn) k.slab.structs.add(barn);
    const n = new KmemCacheNode(name, node, barn);
    k.slab.structs.add(n);
    s.node.push(n);
  }
  s.cpu_sheaves = [];
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    const pcs = new SlubPercpuSheaves(s, cpu);
    pcs.main = newSheaf(k, s, s.sheaf_capacity);
    s.cpu_sheaves.push(pcs);
  }
  k.slab.structs.add(s.cpu_sheaves[0]!);
  return s;
}

function cacheHasSheavesCapacity(s: KmemCache): boolean {
  return s.sheaf_capacity !== 0;
}

/** __kmem_cache_shutdown(): 0 when nothing is left */
export const __kmemCacheShutdown = kfunc('__kmem_cache_shutdown', function* (x: Context, s: KmemCache): Gen<number> {
  yield* flushAllCpusLocked(x, s);
  // we might have rcu sheaves in flight
  if (cacheHasSheaves(s)) yield* rcuBarrier(x);
  for (const n of s.node) {
    if (!n) continue;
    if (n.barn) yield* barnShrink(x, s, n.barn);
    yield* freePartial(x, s, n);
    if (n.nr_partial || n.nr_slabs) return 1;
  }
  return 0;
});

/** pcs_destroy(): every CPU's main is empty and nothing else is left */
export const pcsDestroy = kfunc('pcs_destroy', function* (x: Context, s: KmemCache): Gen<void> {
  if (!s.cpu_sheaves) return;
  for (const pcs of s.cpu_sheaves) {
    if (!pcs.main) continue;
    WARN_ON(x, pcs.spare !== null, `WARN_ON(pcs->spare) (${pcs.name})`);
    WARN_ON(x, pcs.rcu_free !== null, `WARN_ON(pcs->rcu_free) (${pcs.name})`);
    if (!WARN_ON(x, pcs.main.size > 0, `WARN_ON(pcs->main->size) (${pcs.name}: ${pcs.main.size})`)) {
      yield* freeEmptySheaf(x, s, pcs.main);
      pcs.main = null;
    }
  }
  // free_percpu(s->cpu_sheaves)
  x.k.slab.structs.delete(s.cpu_sheaves[0]!);
  for (const pcs of s.cpu_sheaves) pcs.freed = true;
  s.cpu_sheaves = null;
  x.touched = s.name;
  yield x.k.labels ? `free_percpu(${s.name}->cpu_sheaves)` : '';
});

/** free_kmem_cache_nodes(): the barns must be empty */
export const freeKmemCacheNodes = kfunc('free_kmem_cache_nodes', function* (x: Context, s: KmemCache): Gen<void> {
  for (let node = 0; node < s.node.length; node++) {
    const n = s.node[node];
    if (!n) continue;
    if (n.barn) {
      WARN_ON(x, n.barn.nr_full > 0, `WARN_ON(n->barn->nr_full) (${n.barn.name}: ${n.barn.nr_full})`);
      WARN_ON(x, n.barn.nr_empty > 0, `WARN_ON(n->barn->nr_empty) (${n.barn.name}: ${n.barn.nr_empty})`);
      n.barn.freed = true;
      x.k.slab.structs.delete(n.barn);
      n.barn = null;
    }
    s.node[node] = null;
    n.freed = true;
    x.k.slab.structs.delete(n);
    x.touched = n.name;
    yield x.k.labels ? `kmem_cache_free(kmem_cache_node, ${n.name})` : '';
  }
});

/** kmem_cache_destroy(s) */
export const kmemCacheDestroy = kfunc('kmem_cache_destroy', function* (x: Context, s: KmemCache): Gen<void> {
  // in-flight kfree_rcu()'s may include objects from our cache
  yield* kvfreeRcuBarrierOnCache(x, s);
  // wait for deferred work from kmalloc/kfree_nolock()
  yield* deferFreeBarrier(x);
  s.refcount--;
  const err = yield* __kmemCacheShutdown(x, s);
  s.judge?.shutDown(x, s);
  WARN_ON(x, err !== 0, `kmem_cache_destroy ${s.name}: Slab cache still has objects`);
  if (err) return;
  // kmem_cache_release() -> __kmem_cache_release()
  yield* pcsDestroy(x, s);
  yield* freeKmemCacheNodes(x, s);
  s.freed = true;
  x.k.slab.structs.delete(s);
  x.touched = s.name;
  yield x.k.labels ? `kmem_cache_free(kmem_cache, ${s.name})` : '';
});
