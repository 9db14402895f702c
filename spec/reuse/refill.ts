// RFC (seed 001): alloc_bulk() takes reusable objects through
// bpf_ma_get_reusable_obj() - reuse_ready first, then wait_for_free - and
// bpf_mem_refill() calls that alloc_bulk(). free_bulk() is memalloc.c's.
import { load, localDec, localIncReturn, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, __llistDelFirst, llistEmpty } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { __alloc, freeBulk } from '../memalloc/refill.ts';
import { reuseOf } from './cache.ts';

/** bpf_ma_get_reusable_obj(), BPF_MA_REUSE_AFTER_RCU_GP branch. The lists
 *  are shared with the kworker and the RCU callbacks: reuse_lock. */
export const bpfMaGetReusableObj = kfunc('bpf_ma_get_reusable_obj', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  const r = reuseOf(c);
  if ((yield* llistEmpty(x, r.reuse_ready_head)) && (yield* llistEmpty(x, r.wait_for_free))) return null;

  const flags = yield* r.ops.reuse_lock_irqsave(x, c);
  let obj = yield* __llistDelFirst(x, r.reuse_ready_head);
  if (obj) {
    if (yield* llistEmpty(x, r.reuse_ready_head)) r.reuse_ready_tail = null;
  } else {
    obj = yield* __llistDelFirst(x, r.wait_for_free);
  }
  yield* r.ops.reuse_unlock_irqrestore(x, c, flags);
  return obj;
});

/** alloc_bulk() as the RFC changes it. */
export const allocBulk = kfunc('alloc_bulk', function* (x: Context, c: BpfMemCache, cnt: number): Gen<void> {
  const rt = x.k.cfg.preemptRt;
  for (let i = 0; i < cnt; i++) {
    let obj = yield* bpfMaGetReusableObj(x, c);
    if (!obj) {
      obj = yield* __alloc(x, c);
      if (!obj) break;
    }
    let flags = false;
    if (rt) flags = localIrqSave(x);
    WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
    yield* __llistAdd(x, obj, c.free_llist);
    yield* plainAdd(x, c.free_cnt, +1);
    yield* localDec(x, c.active);
    if (rt) yield* localIrqRestore(x, flags);
  }
});

/** bpf_mem_refill(), reaching the RFC's alloc_bulk(). */
export function* bpfMemRefill(x: Context, c: BpfMemCache): Gen<void> {
  const cnt = yield* load(x, c.free_cnt);
  if (cnt < c.low_watermark) yield* allocBulk(x, c, c.batch);
  else if (cnt > c.high_watermark) yield* freeBulk(x, c);
}
