// memalloc.c today: inc_active(), dec_active(), unit_alloc(), unit_free(),
// unit_free_rcu() and the entry points bpf_mem_alloc(), bpf_mem_free(),
// bpf_mem_free_rcu(), bpf_mem_cache_alloc(), bpf_mem_cache_free(),
// bpf_mem_cache_free_rcu(), bpf_mem_cache_raw_free(),
// bpf_mem_cache_alloc_flags().
//
// Against seed 004 (spec/memalloc/unit.ts): unit_alloc() stores the cache
// hint in the object; unit_free() records it in c->tgt; both raise the
// refill irq_work *before* local_irq_restore() (commits 62cf51cb0ebe and
// 566f6de3cea3), so the irq_work is queued while IRQs are still off and runs
// as soon as they come back on; bpf_mem_free() picks the bucket from the
// hint's unit_size instead of ksize().
import { atomicRead, localDec, localIncReturn, plainAdd } from '../kernel/atomic.ts';
import { WARN_ON, WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { localIrqRestore, localIrqSave } from '../kernel/irqflags.ts';
import { __llistAdd, __llistDelFirst, llistAdd } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { bpfMemCacheIdx, LLIST_NODE_SZ } from '../memalloc/cache.ts';
import { hintOf, setHint, takeHint, thisCpuBucketUp, thisCpuCacheUp, type BpfMemCacheUp, type Gfp, type MaUp } from './cache.ts';

/** inc_active(): on PREEMPT_RT the irq_work is a kthread, so IRQs go off
 *  too; 'active' must have been free (irq_work never preempts a program
 *  that holds it). Returns the saved flags. */
export const inc_active = kfunc('inc_active', function* (x: Context, c: BpfMemCacheUp): Gen<boolean> {
  let flags = false;
  if (x.k.cfg.preemptRt) flags = localIrqSave(x);
  WARN_ON_ONCE(x, (yield* localIncReturn(x, c.active)) !== 1, 'WARN_ON_ONCE(local_inc_return(&c->active) != 1)');
  return flags;
});

export const dec_active = kfunc('dec_active', function* (x: Context, c: BpfMemCacheUp, flags: boolean): Gen<void> {
  yield* localDec(x, c.active);
  if (x.k.cfg.preemptRt) yield* localIrqRestore(x, flags);
});

/** unit_alloc() */
export const unit_alloc = kfunc('unit_alloc', function* (x: Context, c: BpfMemCacheUp): Gen<Obj | null> {
  let llnode: Obj | null = null;
  let cnt = 0;
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) {
      cnt = yield* plainAdd(x, c.free_cnt, -1);
      setHint(llnode, c);
      x.touched = llnode.name;
      yield `*(struct bpf_mem_cache **)llnode = ${c.name}`;
    }
  }
  yield* localDec(x, c.active);

  WARN_ON(x, cnt < 0, 'WARN_ON(cnt < 0)');

  if (cnt < c.low_watermark) yield* c.ops.irq_work_raise(x, c);
  // IRQs come back on only after the irq_work is queued
  yield* localIrqRestore(x, flags);
  return llnode;
});

/** `c->tgt = *(struct bpf_mem_cache **)llnode`: a plain store, before IRQs
 *  go off. The hint is not accurate: the last free wins. */
function* rememberTgt(x: Context, c: BpfMemCacheUp, llnode: Obj): Gen<void> {
  const tgt = takeHint(llnode);
  x.k.touch(x, c, 'tgt');
  c.tgt = tgt;
  x.target = c.tgtField;
  yield `c->tgt = *(struct bpf_mem_cache **)llnode (${tgt.name})`;
}

/** unit_free(): the object goes on this CPU's free_llist whoever allocated
 *  it; free_bulk() later sends it to c->tgt. */
export const unit_free = kfunc('unit_free', function* (x: Context, c: BpfMemCacheUp, llnode: Obj): Gen<void> {
  let cnt = 0;
  yield* rememberTgt(x, c, llnode);
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    yield* __llistAdd(x, llnode, c.free_llist);
    cnt = yield* plainAdd(x, c.free_cnt, +1);
  } else {
    // unit_free() cannot fail: an NMI may add to free_llist_extra too
    yield* llistAdd(x, llnode, c.free_llist_extra);
  }
  yield* localDec(x, c.active);

  if (cnt > c.high_watermark) yield* c.ops.irq_work_raise(x, c);
  yield* localIrqRestore(x, flags);
});

/** unit_free_rcu(): the object waits on free_by_rcu for a normal RCU grace
 *  period (check_free_by_rcu() from the irq_work starts it). */
export const unit_free_rcu = kfunc('unit_free_rcu', function* (x: Context, c: BpfMemCacheUp, llnode: Obj): Gen<void> {
  yield* rememberTgt(x, c, llnode);
  const flags = localIrqSave(x);
  if ((yield* localIncReturn(x, c.active)) === 1) {
    // the tail store is part of the second step of __llist_add(): only the
    // holder of 'active' touches free_by_rcu_tail
    if (yield* __llistAdd(x, llnode, c.free_by_rcu)) c.free_by_rcu_tail = llnode;
  } else {
    yield* llistAdd(x, llnode, c.free_llist_extra_rcu);
  }
  yield* localDec(x, c.active);

  if (!(yield* atomicRead(x, c.call_rcu_in_progress))) yield* c.ops.irq_work_raise(x, c);
  yield* localIrqRestore(x, flags);
});

/** bpf_mem_alloc(): size buckets; per-CPU objects have no llist_node in
 *  their per-CPU part, so their size is not padded. */
export const bpf_mem_alloc = kfunc('bpf_mem_alloc', function* (x: Context, ma: MaUp & { percpu: boolean }, size: number): Gen<Obj | null> {
  if (!size) return null;
  if (!ma.percpu) size += LLIST_NODE_SZ;
  const idx = bpfMemCacheIdx(size);
  if (idx < 0) return null;
  return yield* ma.ops.unit_alloc(x, thisCpuBucketUp(x, ma.caches!, idx));
});

/** The bucket of an object: the unit_size of the cache its hint names. */
function bucketOf(x: Context, ptr: Obj): number | null {
  const c = hintOf(ptr);
  const idx = bpfMemCacheIdx(c.unit_size);
  if (WARN_ON_ONCE(x, idx < 0, 'WARN_ON_ONCE(idx < 0)')) return null;
  return idx;
}

export const bpf_mem_free = kfunc('bpf_mem_free', function* (x: Context, ma: MaUp, ptr: Obj): Gen<void> {
  const idx = bucketOf(x, ptr);
  if (idx === null) return;
  yield* ma.ops.unit_free(x, thisCpuBucketUp(x, ma.caches!, idx), ptr);
});

export const bpf_mem_free_rcu = kfunc('bpf_mem_free_rcu', function* (x: Context, ma: MaUp, ptr: Obj): Gen<void> {
  const idx = bucketOf(x, ptr);
  if (idx === null) return;
  yield* ma.ops.unit_free_rcu(x, thisCpuBucketUp(x, ma.caches!, idx), ptr);
});

export const bpf_mem_cache_alloc = kfunc('bpf_mem_cache_alloc', function* (x: Context, ma: MaUp): Gen<Obj | null> {
  return yield* ma.ops.unit_alloc(x, thisCpuCacheUp(x, ma.cache!));
});

export const bpf_mem_cache_free = kfunc('bpf_mem_cache_free', function* (x: Context, ma: MaUp, ptr: Obj): Gen<void> {
  yield* ma.ops.unit_free(x, thisCpuCacheUp(x, ma.cache!), ptr);
});

export const bpf_mem_cache_free_rcu = kfunc('bpf_mem_cache_free_rcu', function* (x: Context, ma: MaUp, ptr: Obj): Gen<void> {
  yield* ma.ops.unit_free_rcu(x, thisCpuCacheUp(x, ma.cache!), ptr);
});

/** bpf_mem_cache_raw_free(): kfree() at once, no reuse and no grace period
 *  (the caller waited for one already). Non-percpu objects only. */
export const bpf_mem_cache_raw_free = kfunc('bpf_mem_cache_raw_free', function* (x: Context, ptr: Obj): Gen<void> {
  takeHint(ptr); // the word goes back to slab with the object
  yield* x.k.slab.kfree(x, ptr);
});

/** bpf_mem_cache_alloc_flags(): with GFP_KERNEL the caller may sleep, and
 *  an empty free_llist falls back to kmalloc. */
export const bpf_mem_cache_alloc_flags = kfunc('bpf_mem_cache_alloc_flags', function* (x: Context, ma: MaUp, flags: Gfp): Gen<Obj | null> {
  const c = thisCpuCacheUp(x, ma.cache!);
  let ret = yield* ma.ops.unit_alloc(x, c);
  if (!ret && flags === 'GFP_KERNEL') {
    ret = yield* ma.ops.__alloc(x, c, 'GFP_KERNEL');
    if (ret) {
      setHint(ret, c);
      x.touched = ret.name;
      yield `*(struct bpf_mem_cache **)ret = ${c.name}`;
    }
  }
  return ret;
});
