// Deep benchmark subject (burst class; not in the zoo, see bench/deep.ts):
// memalloc.c with `active` left as a flag rather than a nesting count:
// every section that takes it with local_inc_return() leaves it with
// `local_set(&c->active, 0)` instead of local_dec(). One NMI inside an
// active section is harmless (it sees 2, takes its fallback, and the
// section's own exit writes 0 anyway), but it leaves `active` at 0 while
// the interrupted section is still inside its list update: a second NMI on
// the same CPU inside the same operation sees 1 and edits free_llist under
// it. Only a burst of two NMIs landing in one operation breaks it.
import { localIncReturn, plainAdd, store } from '../kernel/atomic.ts';
import { WARN_ON, WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, __llistDelFirst, eachSafe, llistAdd, llistDelAll } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { enqueToFree } from '../memalloc/refill.ts';
import { bpfMa, withOps } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** the mistake: `local_set(&c->active, 0)` where local_dec() belongs */
const activeExit = (x: Context, c: BpfMemCache): Gen<void> => store(x, c.active, 0);

const unitAlloc = kfunc('unit_alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  let llnode: Obj | null = null;
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
  }
  yield* activeExit(x, c);
  yield* localIrqRestore(x, flags);
  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');
  if (cnt < c.low_watermark) yield* c.ops.irq_work_raise(x, c);
  return llnode;
});

const unitFree = kfunc('unit_free', function* (x: Context, c: BpfMemCache, llnode: Obj): Gen<void> {
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    yield* __llistAdd(x, llnode, c.free_llist);
    cnt = yield* plainAdd(x, c.free_cnt, +1);
  } else {
    yield* llistAdd(x, llnode, c.free_llist_extra);
  }
  yield* activeExit(x, c);
  yield* localIrqRestore(x, flags);
  if (cnt > c.high_watermark) yield* c.ops.irq_work_raise(x, c);
});

const allocBulk = kfunc('alloc_bulk', function* (x: Context, c: BpfMemCache, cnt: number): Gen<void> {
  const rt = x.k.cfg.preemptRt;
  for (let i = 0; i < cnt; i++) {
    let obj = yield* __llistDelFirst(x, c.free_by_rcu);
    if (!obj) {
      obj = yield* c.ops.__alloc(x, c);
      if (!obj) break;
    }
    let flags = false;
    if (rt) flags = localIrqSave(x);
    WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
    yield* __llistAdd(x, obj, c.free_llist);
    yield* plainAdd(x, c.free_cnt, +1);
    yield* activeExit(x, c);
    if (rt) yield* localIrqRestore(x, flags);
  }
});

const freeBulk = kfunc('free_bulk', function* (x: Context, c: BpfMemCache): Gen<void> {
  const rt = x.k.cfg.preemptRt;
  let cnt: number;
  do {
    let flags = false;
    if (rt) flags = localIrqSave(x);
    WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
    const llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
    else cnt = 0;
    yield* activeExit(x, c);
    if (rt) yield* localIrqRestore(x, flags);
    if (llnode) yield* enqueToFree(x, c, llnode);
  } while (cnt > ((c.high_watermark + c.low_watermark) >> 1));
  for (const llnode of eachSafe(x, yield* llistDelAll(x, c.free_llist_extra))) yield* enqueToFree(x, c, llnode);
  yield* c.ops.do_call_rcu(x, c);
});

export const deepActiveAsFlag = definePolicy({
  ...bpfMa,
  name: 'deep/active-as-flag',
  summary: 'memalloc.c leaving every active section with local_set(&c->active, 0) instead of local_dec(): two NMIs in one operation',
  // seed 004's IRQ-order finding stays a known finding, as in bpf-ma
  bug: {
    invariants: ['Conservation', 'NeverOnTwoLists', 'ExclusiveOwnership', 'FreeCntMatchesList', 'NoKernelWarn', 'NoLeakAtTeardown'],
    why: 'an NMI inside an active section resets active to 0 on its way out; a second NMI in the same operation takes the free_llist path under the interrupted list update',
  },
  init: withOps({ unit_alloc: unitAlloc, unit_free: unitFree, alloc_bulk: allocBulk, free_bulk: freeBulk }),
});
