// The SLUB array paths the workload reaches since the mutation campaign:
// the array's locking rule, bulk frees of several objects through the
// user's RCU batches, and the NMI side's irq_work (hardirq alloc/free).
import { describe, expect, it } from 'vitest';
import { runIrqWork } from '../../../spec/kernel/irq_work.ts';
import { kmemCachePrefillPercpuArray } from '../../../spec/slub/alloc.ts';
import { flushCpuArray, kmemCacheFree } from '../../../spec/slub/free.ts';
import { KmemCache, kmemCacheSetupPercpuArray, pcaPop, pcaPush, pcaSpinTrylock, pcaSpinUnlock } from '../../../spec/slub/pca.ts';
import { allocBulkAll, elemFreeRcu, mapDestroy, NmiSide, nmiFree, nmiTake, rcuPending } from '../../../spec/slub/user.ts';
import type { Context } from '../../../spec/kernel/context.ts';
import type { Gen } from '../../../spec/kernel/types.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import type { Obj } from '../../../spec/kernel/obj.ts';
import { ctx, drive, kernel, runCallbacks } from '../../helpers/boot.ts';

function setup(count = 4, over: Parameters<typeof kernel>[0] = {}): { k: Kernel; s: KmemCache } {
  const k = kernel({ cpus: 1, ...over });
  const s = new KmemCache(64);
  drive(kmemCacheSetupPercpuArray(ctx(k), s, count));
  return { k, s };
}
const objs = (k: Kernel, n: number): Obj[] => Array.from({ length: n }, () => drive(k.slab.kmalloc(null, 64)).value!);

describe('objects[] and used only under pca->lock', () => {
  it('a push by a context that does not hold the lock is a lockdep splat (NoKernelWarn)', () => {
    const { k, s } = setup();
    const [o] = objs(k, 1);
    expect(() => drive(pcaPush(ctx(k), s.cpu_array!.pcas[0]!, o!))).toThrow(/NoKernelWarn.*lockdep_assert_held.*nobody holds the lock/);
  });
  it('a pop while an interrupted context holds the lock names the holder', () => {
    const { k, s } = setup();
    const holder = ctx(k, 0, 'task', 'prog');
    const pca = drive(pcaSpinTrylock(holder, s)).value!;
    drive(pcaPush(holder, pca, objs(k, 1)[0]!));
    expect(() => drive(pcaPop(ctx(k, 0, 'hardirq', 'irq'), pca))).toThrow(/NoKernelWarn.*pops objects\[\] while prog.* holds the lock/);
  });
  it('unlocking a lock another context holds is lockdep\'s bad unlock balance', () => {
    const { k, s } = setup();
    const pca = drive(pcaSpinTrylock(ctx(k, 0, 'task', 'prog'), s)).value!;
    expect(() => drive(pcaSpinUnlock(ctx(k, 0, 'hardirq', 'irq'), pca))).toThrow(/NoKernelWarn.*bad unlock balance/);
  });
  it('the destroy path and the locked paths hold it', () => {
    const { k, s } = setup();
    drive(kmemCacheFree(ctx(k), s, objs(k, 1)[0]!));
    drive(flushCpuArray(ctx(k), s, 0));
    expect(k.slab.live).toBe(0);
  });
  it('kmem_cache_prefill_percpu_array() from hardirq fires lockdep_assert_no_hardirq()', () => {
    const { k, s } = setup();
    expect(() => drive(kmemCachePrefillPercpuArray(ctx(k, 0, 'hardirq'), s, 2))).toThrow(/NoKernelWarn.*lockdep_assert_no_hardirq/);
  });
});

describe('a program\'s frees share one RCU batch', () => {
  it('frees a batch of several with one kmem_cache_free_bulk(): the array takes what fits, slab the rest', () => {
    const { k, s } = setup(4);
    const pending = rcuPending(k);
    const x = ctx(k);
    const os = objs(k, 6);
    // five elements, the first with an odd id: the bulk path
    const start = os[0]!.id % 2 ? 0 : 1;
    const batch = os.slice(start, start + 5);
    for (const o of batch) drive(elemFreeRcu(x, s, pending, o));
    expect(k.rcu.trace.pending.length).toBe(1);
    expect(runCallbacks(k).length).toBe(2);
    expect(pending.head()).toBeNull();
    expect(s.cpu_array!.pcas[0]!.objects).toEqual(batch.slice(0, 4));
    // the fifth went to slab; the sixth was never freed
    expect(k.slab.live).toBe(5);
  });
  it('a batch closes when its first callback runs: a later free starts another', () => {
    const { k, s } = setup(4);
    const pending = rcuPending(k);
    const x = ctx(k);
    const [a, b] = objs(k, 2);
    drive(elemFreeRcu(x, s, pending, a!));
    k.rcu.endGp('rcu_tasks_trace');
    runCallbacks(k);
    drive(elemFreeRcu(x, s, pending, b!));
    expect(pending.open.get(x)).toEqual([b]);
    runCallbacks(k);
    expect(pending.head()).toBeNull();
    expect(s.cpu_array!.pcas[0]!.used.v).toBe(2);
  });
});

describe('the NMI side: deferred frees and a reserve refilled from hardirq', () => {
  it('an NMI free queues the irq_work; the work hands it to RCU and refills the reserve with GFP_ATOMIC', () => {
    const { k, s } = setup(4);
    const pending = rcuPending(k);
    const n = new NmiSide(k, s, pending);
    const [o] = objs(k, 1);
    drive(nmiFree(ctx(k, 0, 'nmi'), n, o!));
    expect(n.deferred[0]!.first).toBe(o);
    expect(n.work[0]!.pending).toBe(true);
    // the reserve is empty: the NMI gets nothing and asks for a refill
    expect(drive(nmiTake(ctx(k, 0, 'nmi'), n)).value).toBeNull();
    drive(runIrqWork(ctx(k, 0, 'hardirq', 'irq_work'), n.work[0]!));
    expect(n.deferred[0]!.first).toBeNull();
    expect(pending.head()).toBe(o);
    const r = n.reserve[0]!.first;
    expect(r).not.toBeNull();
    expect(drive(nmiTake(ctx(k, 0, 'nmi'), n)).value).toBe(r);
  });
  it('teardown waits for the work, gives the reserve back and leaves nothing', () => {
    const { k, s } = setup(4);
    const pending = rcuPending(k);
    const n = new NmiSide(k, s, pending);
    n.refills = 2; // the next refill is a bulk of 3
    drive(runIrqWork(ctx(k, 0, 'hardirq', 'irq_work'), n.work[0]!));
    expect(k.slab.live).toBe(3);
    drive(mapDestroy(ctx(k), s, undefined, n));
    expect(k.slab.live).toBe(0);
    expect(k.slab.structs.size).toBe(0);
  });
});

describe('a bulk allocation\'s caller', () => {
  it('uses the p[0..returned) entries; one never written is judged Conservation', () => {
    const { k, s } = setup(4);
    expect(drive(allocBulkAll(ctx(k), s, 3)).value!.length).toBe(3);
    // a kmem_cache_alloc_bulk() that claims one more than it wrote
    const short = function* (x: Context, c: KmemCache, n: number, p: Obj[]): Gen<number> {
      p.push(drive(k.slab.kmalloc(x, c.object_size)).value!);
      yield 'short';
      return n;
    };
    expect(() => drive(allocBulkAll(ctx(k), s, 2, short))).toThrow(/Conservation.*returned 2 but never wrote p\[1\]/);
  });
});
