// memalloc.c today: __alloc(), add_obj_to_free_list(), alloc_bulk(),
// free_all(), enque_to_free(), free_bulk(), check_free_by_rcu(),
// bpf_mem_refill(). irq_work_raise() and free_one() are seed 004's
// (spec/memalloc/refill.ts), unchanged.
//
// Against seed 004: alloc_bulk() first takes objects back from
// free_by_rcu_ttrace and then waiting_for_gp_ttrace with llist_del_first()
// (other CPUs llist_add() and llist_del_all() these lists at the same time);
// free_bulk() sends what it trims to c->tgt, the cache that allocated it,
// with the atomic llist_add(); the irq_work ends with check_free_by_rcu(),
// which starts the normal RCU grace period for bpf_mem_free_rcu()'d objects.
import { atomicSet, atomicXchg, load, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { __llistAdd, __llistDelAll, __llistDelFirst, eachSafe, llistDelAll as llistDelAllLocal, llistEmpty, type LlistHead } from '../kernel/llist.ts';
import { llistAdd, llistDelAll, llistDelFirst } from '../kernel/llist_cmpxchg.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { freeOne } from '../memalloc/refill.ts';
import { loadTgt, type BpfMemCacheUp, type Gfp } from './cache.ts';
import { callRcuHurry } from './rcu.ts';

/** __alloc(c, node, flags): percpu objects are a kmalloc'd llist_node +
 *  pointer and a unit of percpu memory; both are tried, both undone. */
export const __alloc = kfunc('__alloc', function* (x: Context, c: BpfMemCacheUp, gfp: Gfp): Gen<Obj | null> {
  const slab = x.k.slab;
  if (c.percpu_size) {
    const obj = yield* slab.kmalloc(x, c.percpu_size, gfp);
    const pptr = yield* slab.allocPercpu(x, c.unit_size);
    if (!obj || !pptr) {
      if (pptr) yield* slab.freePercpu(x, c.unit_size);
      if (obj) yield* slab.kfree(x, obj);
      return null;
    }
    obj.pptrBytes = c.unit_size; // obj[1] = pptr
    return obj;
  }
  return yield* slab.kmalloc(x, c.unit_size, gfp);
});

/** add_obj_to_free_list(): under 'active'. */
export const add_obj_to_free_list = kfunc('add_obj_to_free_list', function* (x: Context, c: BpfMemCacheUp, obj: Obj): Gen<void> {
  const flags = yield* c.ops.inc_active(x, c);
  yield* __llistAdd(x, obj, c.free_llist);
  yield* plainAdd(x, c.free_cnt, +1);
  yield* c.ops.dec_active(x, c, flags);
});

/** alloc_bulk(): mostly from irq_work; also prefill (atomic == false:
 *  GFP_KERNEL). Only this CPU llist_del_first()s c's _ttrace lists; other
 *  CPUs llist_add() and llist_del_all() them meanwhile. */
export const alloc_bulk = kfunc('alloc_bulk', function* (x: Context, c: BpfMemCacheUp, cnt: number, atomic: boolean): Gen<void> {
  const gfp: Gfp = atomic ? 'GFP_NOWAIT' : 'GFP_KERNEL';
  let i = 0;
  for (; i < cnt; i++) {
    const obj = yield* llistDelFirst(x, c.free_by_rcu_ttrace);
    if (!obj) break;
    yield* c.ops.add_obj_to_free_list(x, c, obj);
  }
  if (i >= cnt) return;

  for (; i < cnt; i++) {
    const obj = yield* llistDelFirst(x, c.waiting_for_gp_ttrace);
    if (!obj) break;
    yield* c.ops.add_obj_to_free_list(x, c, obj);
  }
  if (i >= cnt) return;

  for (; i < cnt; i++) {
    const obj = yield* c.ops.__alloc(x, c, gfp);
    if (!obj) break;
    yield* c.ops.add_obj_to_free_list(x, c, obj);
  }
});

/** free_all(llnode, percpu): free_one() each node; returns the count. The C
 *  passes !!c->percpu_size, the model passes c (seed 004's free_one() reads
 *  c->percpu_size). */
export const free_all = kfunc('free_all', function* (x: Context, c: BpfMemCacheUp, llnode: Obj | null): Gen<number> {
  let cnt = 0;
  for (const pos of eachSafe(x, llnode)) {
    yield* freeOne(x, c, pos);
    cnt++;
  }
  return cnt;
});

/** enque_to_free(): c is the target cache; other CPUs' free_bulk() and
 *  __free_by_rcu() add to the same list, hence llist_add(). */
export const enque_to_free = kfunc('enque_to_free', function* (x: Context, c: BpfMemCacheUp, obj: Obj): Gen<void> {
  yield* llistAdd(x, obj, c.free_by_rcu_ttrace);
});

/** free_bulk(): trim free_llist to the middle of the watermarks and send
 *  the objects, with free_llist_extra, to c->tgt's free_by_rcu_ttrace. */
export const free_bulk = kfunc('free_bulk', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  const tgt = yield* loadTgt(x, c);
  WARN_ON_ONCE(x, tgt.unit_size !== c.unit_size, 'WARN_ON_ONCE(tgt->unit_size != c->unit_size)');
  WARN_ON_ONCE(x, tgt.percpu_size !== c.percpu_size, 'WARN_ON_ONCE(tgt->percpu_size != c->percpu_size)');

  let cnt: number;
  do {
    const flags = yield* c.ops.inc_active(x, c);
    const llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
    else cnt = 0;
    yield* c.ops.dec_active(x, c, flags);
    if (llnode) yield* c.ops.enque_to_free(x, tgt, llnode);
  } while (cnt > ((c.high_watermark + c.low_watermark) >> 1));

  // and drain free_llist_extra
  for (const llnode of eachSafe(x, yield* llistDelAllLocal(x, c.free_llist_extra))) yield* c.ops.enque_to_free(x, tgt, llnode);
  yield* c.ops.do_call_rcu_ttrace(x, tgt);
});

/** `WRITE_ONCE(head->first, first)`: one store. */
function* writeFirst(x: Context, h: LlistHead, first: Obj | null): Gen<void> {
  x.k.touch(x, h.owner, h.field);
  h.first = first;
  x.touched = h.name;
  yield `WRITE_ONCE(${h.field}.first, ${first ? first.name : 'NULL'})`;
}

/** check_free_by_rcu(): from the irq_work; bpf_mem_free_rcu()'d objects
 *  wait for one normal RCU grace period at a time. */
export const check_free_by_rcu = kfunc('check_free_by_rcu', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  // drain free_llist_extra_rcu
  if (!(yield* llistEmpty(x, c.free_llist_extra_rcu))) {
    const flags = yield* c.ops.inc_active(x, c);
    for (const llnode of eachSafe(x, yield* llistDelAllLocal(x, c.free_llist_extra_rcu))) {
      if (yield* __llistAdd(x, llnode, c.free_by_rcu)) c.free_by_rcu_tail = llnode;
    }
    yield* c.ops.dec_active(x, c, flags);
  }

  if (yield* llistEmpty(x, c.free_by_rcu)) return;

  if (yield* atomicXchg(x, c.call_rcu_in_progress, 1)) {
    // rcu_request_urgent_qs_task(current): a hint to RCU, no state here
    return;
  }

  WARN_ON_ONCE(x, !(yield* llistEmpty(x, c.waiting_for_gp)), 'WARN_ON_ONCE(!llist_empty(&c->waiting_for_gp))');

  const flags = yield* c.ops.inc_active(x, c);
  const first = yield* __llistDelAll(x, c.free_by_rcu);
  yield* writeFirst(x, c.waiting_for_gp, first);
  // c->waiting_for_gp_tail = c->free_by_rcu_tail: under 'active', with the store above
  c.waiting_for_gp_tail = c.free_by_rcu_tail;
  yield* c.ops.dec_active(x, c, flags);

  if (yield* load(x, c.draining)) {
    yield* c.ops.free_all(x, c, yield* llistDelAll(x, c.waiting_for_gp));
    yield* atomicSet(x, c.call_rcu_in_progress, 0);
  } else {
    yield* callRcuHurry(x, c.rcu, (y) => c.ops.__free_by_rcu(y, c), '__free_by_rcu');
  }
});

/** bpf_mem_refill(): the irq_work handler. */
export function* bpf_mem_refill(x: Context, c: BpfMemCacheUp): Gen<void> {
  // racy read of free_cnt; it need not be exact
  const cnt = yield* load(x, c.free_cnt);
  if (cnt < c.low_watermark) yield* c.ops.alloc_bulk(x, c, c.batch, true);
  else if (cnt > c.high_watermark) yield* c.ops.free_bulk(x, c);
  yield* c.ops.check_free_by_rcu(x, c);
}
