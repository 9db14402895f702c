// mm/slub.c and mm/slab_common.c, kfree_rcu() through sheaves:
// __kfree_rcu_sheaf(), __rcu_free_sheaf_prepare(), rcu_free_sheaf(),
// rcu_free_sheaf_nobarn(), flush_rcu_sheaf(), flush_rcu_sheaves_on_cache(),
// flush_all_rcu_sheaves(); kvfree_call_rcu() / kfree_rcu_sheaf(),
// kvfree_rcu_barrier(), kvfree_rcu_barrier_on_cache().
//
// Elided: the kfree_rcu batching of slab_common.c (kfree_rcu_cpu, its
// monitor work and page blocks). An object the sheaves do not take waits
// on a call_rcu() of its own and its callback, kvfree_rcu_cb(), frees it
// with slab_free(); __kvfree_rcu_barrier() is then rcu_barrier(), which
// waits for those callbacks as draining the batches does.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Holder, Kernel } from '../kernel/kernel.ts';
import { mutexLock, mutexUnlock } from '../kernel/mutex.ts';
import { numaMemId } from '../kernel/numa.ts';
import { chainOf, links, type Obj } from '../kernel/obj.ts';
import { callRcu, rcuBarrier, RcuHead } from '../kernel/rcupdate.ts';
import { shared, type Gen, type Owner } from '../kernel/types.ts';
import { flushWork, queueWorkOn } from '../kernel/workqueue_on.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { barnGetEmptySheaf, barnPutEmptySheaf, barnPutFullSheaf, getBarn, racy } from './barn.ts';
import { slubFlush } from './flush.ts';
import { GFP_NOWAIT } from './gfp.ts';
import { allocEmptySheaf, cacheHasSheaves, freeEmptySheaf, pcsLock, pcsTrylock, pcsUnlock, sheafFlushUnused, touchSheaf, type KmemCache, type SlabSheaf, type SlubPercpuSheaves } from './pcs.ts';
import { slabFree } from './free.ts';
import { virtToSlab } from './slab.ts';

/** __rcu_free_sheaf_prepare(): the free hooks (elided); true when an
 *  object of a pfmemalloc slab is in the sheaf */
function rcuFreeSheafPrepare(sh: SlabSheaf): boolean {
  for (let i = 0; i < sh.size; i++) if (virtToSlab(sh.objects[i]!).pfmemalloc) return true;
  return false;
}

/** rcu_free_sheaf_nobarn(): the callback of a sheaf flushed by
 *  flush_rcu_sheaf(), pcs_flush_all() or slub_cpu_dead() */
export const rcuFreeSheafNobarn = kfunc('rcu_free_sheaf_nobarn', function* (x: Context, sh: SlabSheaf): Gen<void> {
  const s = sh.cache;
  x.k.touch(x, s, 'rcu sheaf');
  s.judge?.rcuDone(sh.objects.slice(0, sh.size) as Obj[]);
  rcuFreeSheafPrepare(sh);
  yield* sheafFlushUnused(x, s, sh);
  yield* freeEmptySheaf(x, s, sh);
});

/** rcu_free_sheaf(): the callback of a full rcu sheaf: to the barn of the
 *  node it was filled on, flushed first when it holds a pfmemalloc object
 *  or the barn has enough full sheaves */
export const rcuFreeSheaf = kfunc('rcu_free_sheaf', function* (x: Context, sh: SlabSheaf): Gen<void> {
  const s = sh.cache;
  x.k.touch(x, s, 'rcu sheaf');
  touchSheaf(x, sh);
  s.judge?.rcuDone(sh.objects.slice(0, sh.size) as Obj[]);
  let barn = null;
  let flush = rcuFreeSheafPrepare(sh);
  if (!flush) {
    const n = s.node[sh.node] ?? null;
    if (!n) flush = true;
    else {
      barn = n.barn!;
      if (sh.size !== 0) {
        if ((yield* racy(x, barn, 'nr_full')) < s.max_full_sheaves) {
          yield* barnPutFullSheaf(x, barn, sh);
          return;
        }
        flush = true;
      }
    }
  }
  if (flush) yield* sheafFlushUnused(x, s, sh);
  // empty:
  if (barn) {
    if ((yield* racy(x, barn, 'nr_empty')) < s.max_empty_sheaves) {
      yield* barnPutEmptySheaf(x, barn, sh);
      return;
    }
  }
  yield* freeEmptySheaf(x, s, sh);
});

/** __kfree_rcu_sheaf()'s end (SheavesOps.kfree_rcu_sheaf_submit): a full
 *  rcu sheaf goes to call_rcu() before local_unlock(), so that a racing
 *  flush_all_rcu_sheaves() does not miss it */
export function* kfreeRcuSheafSubmit(x: Context, s: KmemCache, pcs: SlubPercpuSheaves, rcuSheaf: SlabSheaf | null): Gen<void> {
  void pcs;
  if (rcuSheaf) yield* callRcu(x, rcuSheaf.rcu_head, (y) => rcuFreeSheaf(y, rcuSheaf), 'rcu_free_sheaf');
  yield* pcsUnlock(x, s);
}

/** __kfree_rcu_sheaf(): put obj in this CPU's rcu_free sheaf; false when
 *  it could not (the caller falls back to the kfree_rcu batches) */
export const __kfreeRcuSheaf = kfunc('__kfree_rcu_sheaf', function* (x: Context, s: KmemCache, obj: Obj): Gen<boolean> {
  if (WARN_ON_ONCE(x, x.k.cfg.preemptRt, 'WARN_ON_ONCE(IS_ENABLED(CONFIG_PREEMPT_RT))')) return false;
  let pcs = yield* pcsTrylock(x, s);
  if (!pcs) return false;
  if (!pcs.rcu_free) {
    if (!cacheHasSheaves(s)) {
      yield* pcsUnlock(x, s);
      return false;
    }
    if (pcs.spare && pcs.spare.size === 0) {
      pcs.rcu_free = pcs.spare;
      pcs.spare = null;
      x.touched = pcs.name;
      yield x.k.labels ? `pcs->rcu_free = pcs->spare (${pcs.rcu_free.name})` : '';
    } else {
      const barn = getBarn(x, s);
      if (!barn) {
        yield* pcsUnlock(x, s);
        return false;
      }
      let empty = yield* barnGetEmptySheaf(x, barn, true);
      if (empty) pcs.rcu_free = empty;
      else {
        yield* pcsUnlock(x, s);
        empty = yield* allocEmptySheaf(x, s, GFP_NOWAIT);
        if (!empty) return false;
        pcs = yield* pcsTrylock(x, s);
        if (!pcs) {
          yield* barnPutEmptySheaf(x, barn, empty);
          return false;
        }
        if (pcs.rcu_free) {
          yield* barnPutEmptySheaf(x, barn, empty);
        } else pcs.rcu_free = empty;
      }
    }
  }
  // do_free:
  let rcuSheaf: SlabSheaf | null = pcs.rcu_free!;
  touchSheaf(x, rcuSheaf);
  rcuSheaf.objects[rcuSheaf.size++] = obj;
  links.version++;
  x.obj = obj;
  x.act = 'put on list';
  const full = rcuSheaf.size >= s.sheaf_capacity;
  yield x.k.labels ? `${rcuSheaf.name}->objects[size++] = ${obj.name} (${rcuSheaf.size})${full ? '; pcs->rcu_free = NULL' : ''}` : '';
  if (!full) rcuSheaf = null;
  else {
    pcs.rcu_free = null;
    rcuSheaf.node = numaMemId(x.k, x.cpu);
  }
  yield* s.ops.kfree_rcu_sheaf_submit(x, s, pcs, rcuSheaf);
  return true;
});

/** Objects waiting in the kfree_rcu batches (the fallback): a Holder, so
 *  Conservation counts them in flight. */
export class KfreeRcuBatches implements Holder, Owner {
  /** every add and delete bumps links.version */
  readonly tracked = true;
  readonly name = 'kfree_rcu batches';
  freed = false;
  readonly objs = new Set<Obj>();
  head(): Obj | null {
    return chainOf(this.objs);
  }
}
const batches = shared('kfreeRcuBatches', () => new WeakMap<Kernel, KfreeRcuBatches>());
export function kfreeRcuBatches(k: Kernel): KfreeRcuBatches {
  let b = batches.get(k);
  if (!b) {
    batches.set(k, (b = new KfreeRcuBatches()));
    k.register(b);
  }
  return b;
}

/** kvfree_call_rcu(head, obj): the sheaves first (not on PREEMPT_RT, and
 *  only for an object of this node: kfree_rcu_sheaf()), else a batch */
export const kvfreeCallRcu = kfunc('kvfree_call_rcu', function* (x: Context, obj: Obj): Gen<void> {
  const slab = virtToSlab(obj);
  const s = slab.cache;
  x.k.touch(x, s, 'cpu_sheaves');
  s.judge?.kfreeRcu(x, s, obj);
  if (!x.k.cfg.preemptRt && s.cpu_sheaves && slab.node === numaMemId(x.k, x.cpu)) {
    if (yield* __kfreeRcuSheaf(x, s, obj)) {
      s.judge?.kfreeRcuReturned(x, s, obj);
      return;
    }
  }
  const b = kfreeRcuBatches(x.k);
  b.objs.add(obj);
  links.version++;
  const head = new RcuHead({ name: obj.name, freed: false }, 'rcu');
  yield* callRcu(x, head, (y) => kvfreeRcuCb(y, obj), 'kvfree_rcu_cb');
  s.judge?.kfreeRcuReturned(x, s, obj);
});

/** kvfree_rcu_cb(): the batch's object goes to slab_free() */
const kvfreeRcuCb = kfunc('kvfree_rcu_cb', function* (x: Context, obj: Obj): Gen<void> {
  const s = virtToSlab(obj).cache;
  x.k.touch(x, s, 'cpu_sheaves');
  kfreeRcuBatches(x.k).objs.delete(obj);
  links.version++;
  s.judge?.rcuDone([obj]);
  yield* slabFree(x, s, obj);
});

/** flush_rcu_sheaf(): the work on one CPU (the kworker names it): its rcu_free sheaf, however
 *  full, to call_rcu() */
export function* flushRcuSheaf(x: Context, s: KmemCache): Gen<void> {
  const pcs = yield* pcsLock(x, s);
  const rcuFree = pcs.rcu_free;
  pcs.rcu_free = null;
  x.touched = pcs.name;
  yield x.k.labels ? `rcu_free = ${rcuFree ? rcuFree.name : 'NULL'}; pcs->rcu_free = NULL` : '';
  yield* pcsUnlock(x, s);
  if (rcuFree) yield* callRcu(x, rcuFree.rcu_head, (y) => rcuFreeSheafNobarn(y, rcuFree), 'rcu_free_sheaf_nobarn');
}

/** flush_rcu_sheaves_on_cache(): flush_rcu_sheaf() on every online CPU,
 *  whether or not it has an rcu_free sheaf (a racing __kfree_rcu_sheaf()
 *  may have just taken it: running on the CPU waits for its call_rcu()) */
export const flushRcuSheavesOnCache = kfunc('flush_rcu_sheaves_on_cache', function* (x: Context, s: KmemCache): Gen<void> {
  const f = slubFlush(x.k);
  yield* mutexLock(x, f.flush_lock);
  for (const c of x.k.cpus) {
    if (!c.online) continue;
    f.s[c.id] = s;
    yield* queueWorkOn(x, c.id, f.rcu[c.id]!);
  }
  for (const c of x.k.cpus) if (c.online) yield* flushWork(x, f.rcu[c.id]!);
  yield* mutexUnlock(x, f.flush_lock);
});

/** kvfree_rcu_barrier_on_cache() (slab_common.c): the cache's rcu sheaves
 *  to call_rcu(), rcu_barrier() for them (b55b423e8518), then the batches */
export const kvfreeRcuBarrierOnCache = kfunc('kvfree_rcu_barrier_on_cache', function* (x: Context, s: KmemCache): Gen<void> {
  s.judge?.barrierBegin(x, s);
  if (s.cpu_sheaves) {
    yield* flushRcuSheavesOnCache(x, s);
    yield* rcuBarrier(x);
  }
  // __kvfree_rcu_barrier()
  yield* rcuBarrier(x);
  s.judge?.barrierEnd(x, s);
});

/** kvfree_rcu_barrier(): flush_all_rcu_sheaves() (every cache with
 *  sheaves, then rcu_barrier()), then the batches */
export const kvfreeRcuBarrier = kfunc('kvfree_rcu_barrier', function* (x: Context, caches: readonly KmemCache[]): Gen<void> {
  for (const s of caches) s.judge?.barrierBegin(x, s);
  for (const s of caches) if (cacheHasSheaves(s)) yield* flushRcuSheavesOnCache(x, s);
  yield* rcuBarrier(x);
  yield* rcuBarrier(x);
  for (const s of caches) s.judge?.barrierEnd(x, s);
});
