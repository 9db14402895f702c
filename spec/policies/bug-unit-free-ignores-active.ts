// Bug zoo: unit_free() without the 'active' check. It always takes the
// free_llist path, so an NMI program freeing between the load and the store
// of __llist_add() (or of free_cnt++) loses an object. Copy this file to
// start a policy of your own: spread a policy, replace one hook.
import { localDec, localIncReturn, plainAdd } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemCacheIdx, thisCpuBucket, thisCpuCache, type BpfMemCache } from '../memalloc/cache.ts';
import { irqWorkRaise } from '../memalloc/refill.ts';
import { bpfMa } from './bpf-ma.ts';
import { definePolicy } from './policy.ts';

/** unit_free() as memalloc.c has it, minus the `== 1` test on 'active'. */
const unitFreeIgnoringActive = kfunc('unit_free', function* (x: Context, c: BpfMemCache, llnode: Obj): Gen<void> {
  const flags = localIrqSave(x);
  yield* localIncReturn(x, c.active);
  yield* __llistAdd(x, llnode, c.free_llist);
  const cnt = yield* plainAdd(x, c.free_cnt, +1);
  yield* localDec(x, c.active);
  yield* localIrqRestore(x, flags);
  if (cnt > c.high_watermark) yield* irqWorkRaise(x, c);
});

export const unitFreeIgnoresActive = definePolicy({
  ...bpfMa,
  name: 'bug/unit-free-ignores-active',
  summary: 'unit_free() always pushes free_llist: an NMI free re-enters __llist_add()',
  bug: {
    invariants: ['Conservation', 'FreeCntMatchesList', 'NeverOnTwoLists'],
    why: 'an NMI unit_free() between the load and the store of __llist_add() (or of free_cnt++) loses an object or a count',
  },
  free: (x, ma, obj) =>
    unitFreeIgnoringActive(x, ma.cache ? thisCpuCache(x, ma.cache) : thisCpuBucket(x, ma.caches!, bpfMemCacheIdx(obj.size)), obj),
});
