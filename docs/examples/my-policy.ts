// An example user policy: memalloc.c with an eager refill. unit_alloc()
// raises the refill irq_work as soon as free_cnt drops below the *high*
// watermark instead of the low one, keeping per-CPU caches fuller.
// Everything else is the baseline, spread from bpf-ma.
//
// Run it:  npm run check -- --policy ./docs/examples/my-policy.ts
// Outside the repo, see docs/policy-api.md, "Your own directory".
import { localDec, localIncReturn, plainAdd } from 'allocspec/spec/kernel/atomic.ts';
import { WARN_ON } from 'allocspec/spec/kernel/bug.ts';
import { kfunc, type Context } from 'allocspec/spec/kernel/context.ts';
import { localIrqRestore, localIrqSave } from 'allocspec/spec/kernel/irqflags.ts';
import { __llistDelFirst } from 'allocspec/spec/kernel/llist.ts';
import type { Obj } from 'allocspec/spec/kernel/obj.ts';
import type { Gen } from 'allocspec/spec/kernel/types.ts';
import { bpfMemCacheIdx, LLIST_NODE_SZ, thisCpuBucket, thisCpuCache, type BpfMemAlloc, type BpfMemCache } from 'allocspec/spec/memalloc/cache.ts';
import { irqWorkRaise } from 'allocspec/spec/memalloc/refill.ts';
import { bpfMa } from 'allocspec/spec/policies/bpf-ma.ts';
import { definePolicy } from 'allocspec/spec/policies/policy.ts';

/** unit_alloc() as memalloc.c has it, but refilling below high_watermark. */
const unitAllocEager = kfunc('unit_alloc', function* (x: Context, c: BpfMemCache): Gen<Obj | null> {
  let llnode: Obj | null = null;
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
  }
  yield* localDec(x, c.active);
  yield* localIrqRestore(x, flags);

  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');

  if (cnt < c.high_watermark) yield* irqWorkRaise(x, c); // the change: was low_watermark
  return llnode;
});

/** bpf_mem_cache_alloc() / bpf_mem_alloc() over the eager unit_alloc(). */
function* allocEager(x: Context, ma: BpfMemAlloc, size: number): Gen<Obj | null> {
  if (ma.cache) return yield* unitAllocEager(x, thisCpuCache(x, ma.cache));
  if (!size) return null;
  const idx = bpfMemCacheIdx(size + LLIST_NODE_SZ);
  if (idx < 0) return null;
  return yield* unitAllocEager(x, thisCpuBucket(x, ma.caches!, idx));
}

export default definePolicy<BpfMemAlloc>({
  ...bpfMa,
  name: 'my-eager-refill',
  summary: 'memalloc.c with unit_alloc() refilling below the high watermark',
  alloc: (x, ma, size) => allocEager(x, ma, size),
});
