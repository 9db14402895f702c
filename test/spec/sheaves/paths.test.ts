// spec/sheaves read against the C, path by path: what each path does with
// objects and sheaves, driven step by step on a small machine.
import { describe, expect, it } from 'vitest';
import { SheavesModel } from '../../../model/sheaves.ts';
import type { Context } from '../../../spec/kernel/context.ts';
import { runCpu, start } from '../../../spec/kernel/sched.ts';
import { Violation, type Gen } from '../../../spec/kernel/types.ts';
import type { Obj } from '../../../spec/kernel/obj.ts';
import { kmemCacheAlloc } from '../../../spec/sheaves/alloc.ts';
import { kmemCacheCreate, kmemCacheDestroy } from '../../../spec/sheaves/destroy.ts';
import { freeToPcsBulk, kmemCacheFree } from '../../../spec/sheaves/free.ts';
import { GFP_KERNEL } from '../../../spec/sheaves/gfp.ts';
import { deferFreeObjects, kfreeNolock, kmallocNolock } from '../../../spec/sheaves/nolock.ts';
import { withSheavesOps, type SheavesOps } from '../../../spec/sheaves/ops.ts';
import { pcsTrylock, type KmemCache } from '../../../spec/sheaves/pcs.ts';
import { virtToSlab } from '../../../spec/sheaves/slab.ts';
import { REFILL_FIX } from '../../../spec/policies/slub-sheaves.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

function boot(over: Partial<SheavesOps> = {}, pool = 40) {
  const k = kernel({ maxObjects: pool });
  deferFreeObjects(k);
  const s = kmemCacheCreate(k, 's', 8184, withSheavesOps(over));
  s.judge = new SheavesModel(k, () => [s]);
  return { k, s };
}

function alloc(x: Context, s: KmemCache, n: number): Obj[] {
  const out: Obj[] = [];
  for (let i = 0; i < n; i++) out.push(drive(kmemCacheAlloc(x, s, GFP_KERNEL)).value!);
  return out;
}

describe('free_to_pcs_bulk()', () => {
  it('puts this node\'s objects in main and sends the remote ones to their slabs', () => {
    const { k, s } = boot();
    const local = alloc(ctx(k, 0), s, 2);
    const remote = alloc(ctx(k, 1), s, 2);
    expect(remote.map((o) => virtToSlab(o).node)).toEqual([1, 1]);
    const main = s.cpu_sheaves![0]!.main!;
    const before = main.size;
    drive(freeToPcsBulk(ctx(k, 0), s, [remote[0]!, local[0]!, remote[1]!, local[1]!]));
    expect(main.size).toBe(before + 2);
    expect(remote.map((o) => o.state)).toEqual(['slab', 'slab']);
    expect(local.map((o) => o.state)).toEqual(['live', 'live']);
  });

  it('without the remote flush after the last batch (cbcff934fa7d) the remote objects are freed nowhere', () => {
    const { k, s } = boot({ free_to_pcs_bulk_tail: function* () {} });
    const local = alloc(ctx(k, 0), s, 1);
    const remote = alloc(ctx(k, 1), s, 1);
    drive(freeToPcsBulk(ctx(k, 0), s, [remote[0]!, local[0]!]));
    expect(remote[0]!.state).toBe('live');
    const holders = k.holders.filter((h) => {
      for (let o = h.head(); o; o = o.next) if (o === remote[0]) return true;
      return false;
    });
    expect(holders).toEqual([]);
  });
});

describe('__pcs_replace_empty_main(): unlock, refill, relock', () => {
  it('as written, a refill that falls short frees the sheaf with its objects in it: Conservation (the known finding)', () => {
    // 24 objects, 4 per slab: below 12 only the reserves are left
    const { k, s } = boot({}, 24);
    const x = ctx(k, 0);
    let v: Violation | null = null;
    try {
      for (let i = 0; i < 24; i++) if (!drive(kmemCacheAlloc(x, s, GFP_KERNEL)).value) break;
      // a partial slab with room, then a refill that cannot get a new slab
      drive(kmemCacheFree(ctx(k, 1), s, k.slab.all.find((o) => o.state === 'live' && virtToSlab(o).node === 0)!));
      for (let i = 0; i < 4; i++) drive(kmemCacheAlloc(x, s, GFP_KERNEL));
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      v = e;
    }
    expect(v?.invariant).toBe('Conservation');
    expect(v?.detail).toMatch(/free_empty_sheaf .* still in it/);
  });

  it('with upstream 464b1c115852 the partly refilled sheaf is flushed first, nothing is lost', () => {
    const { k, s } = boot(REFILL_FIX, 24);
    const x = ctx(k, 0);
    for (let i = 0; i < 24; i++) if (!drive(kmemCacheAlloc(x, s, GFP_KERNEL)).value) break;
    drive(kmemCacheFree(ctx(k, 1), s, k.slab.all.find((o) => o.state === 'live' && virtToSlab(o).node === 0)!));
    for (let i = 0; i < 4; i++) drive(kmemCacheAlloc(x, s, GFP_KERNEL));
    for (const sh of s.sheaves) expect(sh.freed).toBe(false);
  });
});

describe('kmalloc_nolock() / kfree_nolock()', () => {
  it('an NMI over the holder of the sheaves lock fails the trylock and gets its object from the slabs with trylocks only', () => {
    const k = kernel({ maxObjects: 40 });
    deferFreeObjects(k);
    const caches = new Map<number, KmemCache>();
    const kc = { get: (n: number) => caches.get(n) ?? caches.set(n, kmemCacheCreate(k, `kmalloc-${n}`, n)).get(n)! };
    const s = kc.get(8192);
    start(k, 0, 'task', 'prog0', function* (x): Gen<void> {
      yield* pcsTrylock(x, s);
      for (;;) yield 'holding';
    });
    runCpu(k, 0, 1);
    expect(s.cpu_sheaves![0]!.lock.holder?.label).toBe('prog0');
    let got: Obj | null = null;
    const n = start(k, 0, 'nmi', 'nmi0', function* (x): Gen<void> {
      got = yield* kmallocNolock(x, kc, 8184);
    });
    runCpu(k, 0, 0, n);
    expect(got).not.toBeNull();
    expect(s.cpu_sheaves![0]!.lock.holder?.label).toBe('prog0');
  });

  it('kfree_nolock() of a remote object defers it to the llist and the irq_work frees it to its slab', () => {
    const { k, s } = boot();
    const [o] = alloc(ctx(k, 1), s, 1);
    const df = deferFreeObjects(k);
    const x = start(k, 0, 'task', 'prog0', (y) => kfreeNolock(y, o!));
    runCpu(k, 0, 0, x);
    expect(o!.state).toBe('slab');
    expect(df.objects[0]!.first).toBeNull();
  });
});

describe('kmem_cache_destroy()', () => {
  it('after every object is back, leaves nothing: no sheaf, barn, node or slab of the cache', () => {
    const { k, s } = boot();
    const objs = alloc(ctx(k, 0), s, 3);
    for (const o of objs) drive(kmemCacheFree(ctx(k, 0), s, o));
    const x = start(k, 0, 'task', 'destroy', (y) => kmemCacheDestroy(y, s));
    for (let i = 0; i < 200 && !x.done; i++) {
      runCpu(k, 0, 0, x);
      runCpu(k, 1, 0);
      for (const f of ['rcu', 'rcu_tasks_trace'] as const) if (k.rcu.canEndGp(f)) k.rcu.endGp(f);
      for (let cpu = 0; cpu < 2; cpu++) {
        for (let cb = k.rcu.takeReady(cpu); cb; cb = k.rcu.takeReady(cpu)) {
          const taken = cb;
          runCpu(k, cpu, 0, start(k, cpu, 'softirq', 'cb', (y) => (function* () {
            yield* taken.fn!(y);
            k.rcu.finished(taken);
          })()));
        }
      }
      for (const w of [...k.pendingWork]) {
        w.pending = false;
        k.pendingWork.delete(w);
        const kw = start(k, w.cpu, 'task', 'kworker', (y) => w.fn(y));
        w.running = kw;
        runCpu(k, w.cpu, 0, kw);
        w.running = null;
      }
    }
    expect(x.done).toBe(true);
    expect(s.freed).toBe(true);
    expect(s.sheaves.size).toBe(0);
    expect(s.slabs.size).toBe(0);
    expect([...k.slab.structs].map((o) => o.name)).toEqual([]);
  });
});

