// memalloc.c: __alloc(), alloc_bulk(), free_one(), enque_to_free(),
// free_bulk(), bpf_mem_refill(), irq_work_raise().
import { localIncReturn, load, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { irqWorkQueue } from '../kernel/irq_work.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, __llistDelFirst, eachSafe, llistDelAll } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { AnyCache, BpfMemCache } from './cache.ts';

/** __alloc(): kmalloc_node(GFP_NOWAIT); percpu: the object plus a percpu unit. */
export const __alloc = kfunc('__alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  const slab = x.k.slab;
  if (c.percpu_size) {
    const obj = yield* slab.kmalloc(x, c.percpu_size);
    const pptr = yield* slab.allocPercpu(x, c.unit_size);
    if (!obj || !pptr) {
      if (pptr) yield* slab.freePercpu(x, c.unit_size, pptr);
      if (obj) yield* slab.kfree(x, obj);
      return null;
    }
    obj.pptrBytes = c.unit_size; // obj[1] = pptr
    slab.pptrOf.set(obj, pptr);
    return obj;
  }
  return yield* slab.kmalloc(x, c.unit_size);
});

/** free_one() */
export const freeOne = kfunc('free_one', function* (x: Context, c: AnyCache, obj: Obj): Gen<void> {
  if (c.percpu_size) {
    yield* x.k.slab.freePercpu(x, obj.pptrBytes, x.k.slab.pptrOf.get(obj));
    obj.pptrBytes = 0;
  }
  yield* x.k.slab.kfree(x, obj);
});

/** alloc_bulk(): mostly from irq_work; also the boot-time prefill. */
export const allocBulk = kfunc('alloc_bulk', function* (x: Context, c: BpfMemCache, cnt: number): Gen<void> {
  const rt = x.k.cfg.preemptRt;
  let i = 0;
  for (; i < cnt; i++) {
    // free_by_rcu is only manipulated by refill_work on this CPU
    let obj = yield* __llistDelFirst(x, c.free_by_rcu);
    if (!obj) {
      obj = yield* c.ops.__alloc(x, c);
      if (!obj) break;
    }
    let flags = false;
    if (rt) flags = localIrqSave(x);
    WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
    yield* __llistAdd(x, obj, c.free_llist);
    yield* c.ops.alloc_bulk_count(x, c); // c->free_cnt++
    yield* c.ops.active_exit(x, c); // local_dec(&c->active)
    if (rt) yield* localIrqRestore(x, flags);
  }
  yield* c.ops.alloc_bulk_end(x, c, i); // set_active_memcg(old_memcg); mem_cgroup_put(memcg)
});

/** alloc_bulk()'s `c->free_cnt++` for each object linked (a seam). */
export function* allocBulkCount(x: Context, c: BpfMemCache): Gen<void> {
  yield* plainAdd(x, c.free_cnt, +1);
}

/** alloc_bulk() after its loop, i objects linked: the memcg calls there are
 *  not modelled (a seam: nothing by default). */
export function* allocBulkEnd(_x: Context, _c: BpfMemCache, _i: number): Gen<void> {}

/** enque_to_free(): only irq_work adds to free_by_rcu. */
export const enqueToFree = kfunc('enque_to_free', function* (x: Context, c: BpfMemCache, obj: Obj): Gen<void> {
  yield* __llistAdd(x, obj, c.free_by_rcu);
});

/** free_bulk(): trim free_llist to the middle of the watermarks. */
export const freeBulk = kfunc('free_bulk', function* (x: Context, c: BpfMemCache): Gen<void> {
  const rt = x.k.cfg.preemptRt;
  let cnt: number;
  do {
    let flags = false;
    if (rt) flags = localIrqSave(x);
    WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
    const llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
    else cnt = 0;
    yield* c.ops.active_exit(x, c); // local_dec(&c->active)
    if (rt) yield* localIrqRestore(x, flags);
    if (llnode) yield* enqueToFree(x, c, llnode);
  } while (cnt > ((c.high_watermark + c.low_watermark) >> 1));

  // and drain free_llist_extra
  for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_llist_extra))) yield* enqueToFree(x, c, llnode);
  yield* c.ops.do_call_rcu(x, c);
});

/** bpf_mem_refill(): the irq_work handler. */
export function* bpfMemRefill(x: Context, c: BpfMemCache): Gen<void> {
  // racy read of free_cnt; it need not be exact
  const cnt = yield* load(x, c.free_cnt);
  if (cnt < c.low_watermark) yield* c.ops.alloc_bulk(x, c, c.batch);
  else if (cnt > c.high_watermark) yield* c.ops.free_bulk(x, c);
}

/** irq_work_raise() */
export const irqWorkRaise = kfunc('irq_work_raise', function* (x: Context, c: AnyCache): Gen<void> {
  yield* irqWorkQueue(x, c.refill_work);
});
