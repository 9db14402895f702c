// Sequential behaviour of spec/memalloc against memalloc.c.
import { describe, expect, it } from 'vitest';
import { bpfMemAllocInit } from '../../../spec/memalloc/init.ts';
import { NUM_CACHES, SIZES, type BpfMemCache } from '../../../spec/memalloc/cache.ts';
import { bpfMemCacheAlloc, bpfMemCacheFree, bpfMemAlloc, bpfMemFree, unitFree } from '../../../spec/memalloc/unit.ts';
import { bpfMemRefill } from '../../../spec/memalloc/refill.ts';
import { runIrqWork } from '../../../spec/kernel/irq_work.ts';
import { invokeCallback } from '../../../spec/kernel/rcupdate.ts';
import { bpfMemAllocDestroy } from '../../../spec/memalloc/destroy.ts';
import type { Obj } from '../../../spec/kernel/obj.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import { ctx, drive, kernel, runCallbacks } from '../../helpers/boot.ts';

/** The refill irq_work runs on c's CPU (hardirq). */
function refill(k: Kernel, c: BpfMemCache): void {
  drive(runIrqWork(ctx(k, c.cpu, 'hardirq'), c.refill_work));
}

/** A unit-4096 cache on cpu0 after 8 frees (9 objects with the prefill)
 *  and free_bulk trimming it to 4: five
 *  objects wait in waiting_for_gp behind one RCU tasks trace callback. */
function withCallbackInFlight(k: Kernel) {
  const ma = bpfMemAllocInit(k, { size: 4088, percpu: false });
  const c = ma.cache!.caches[0]!;
  const x = ctx(k, 0);
  for (let i = 0; i < 8; i++) drive(unitFree(x, c, drive(k.slab.kmalloc(x, 4096)).value!));
  refill(k, c);
  return { ma, c };
}

function len(c: BpfMemCache, list: 'free_llist' | 'free_llist_extra' | 'free_by_rcu' | 'waiting_for_gp'): number {
  let n = 0;
  for (let o = c[list].first; o; o = o.next) n++;
  return n;
}

describe('bpf_mem_alloc_init()', () => {
  it('fixed size: one cache per CPU, unit_size = size + 8, prefilled', () => {
    const k = kernel({ cpus: 3 });
    const ma = bpfMemAllocInit(k, { size: 56, percpu: false });
    expect(ma.cache!.caches).toHaveLength(3);
    for (const c of ma.cache!.caches) {
      expect(c.unit_size).toBe(64);
      expect([c.low_watermark, c.high_watermark, c.batch]).toEqual([32, 96, 48]);
      expect(len(c, 'free_llist')).toBe(4);
      expect(c.free_cnt.v).toBe(4);
    }
    expect(k.slab.live).toBe(12);
  });

  it('percpu: unit_size = size, 16-byte objects carrying a percpu unit of size x cpus bytes', () => {
    const k = kernel({ cpus: 4 });
    const ma = bpfMemAllocInit(k, { size: 512, percpu: true });
    const c = ma.cache!.caches[0]!;
    expect(c.unit_size).toBe(512);
    expect(c.percpu_size).toBe(16);
    expect(len(c, 'free_llist')).toBe(1); // unit_size > 256
    expect(c.free_llist.first!.size).toBe(16);
    expect(c.free_llist.first!.pptrBytes).toBe(512);
    expect(k.slab.percpuBytes).toBe(4 * 512 * 4); // 4 CPUs x 1 object x 512 x 4 CPUs
  });

  it('size 0: NUM_CACHES buckets per CPU, prefilled 4 up to 256 bytes and 1 above', () => {
    const k = kernel({ cpus: 2 });
    const ma = bpfMemAllocInit(k, { size: 0, percpu: false });
    expect(ma.caches!.caches).toHaveLength(2 * NUM_CACHES);
    for (let i = 0; i < NUM_CACHES; i++) {
      const c = ma.caches!.caches[i]!;
      expect(c.unit_size).toBe(SIZES[i]);
      expect(len(c, 'free_llist')).toBe(SIZES[i]! <= 256 ? 4 : 1);
    }
  });

  it('size 0 with percpu is invalid', () => {
    expect(() => bpfMemAllocInit(kernel(), { size: 0, percpu: true })).toThrow(/invalid/);
  });
});

describe('unit_alloc() / unit_free()', () => {
  it('pops free_llist, counts down and raises the refill irq_work below low_watermark', () => {
    const k = kernel();
    const ma = bpfMemAllocInit(k, { size: 8184, percpu: false }); // unit 8192: low 1, high 3
    const c = ma.cache!.caches[0]!;
    const x = ctx(k, 0);
    const first = c.free_llist.first;
    const { value } = drive(bpfMemCacheAlloc(x, ma));
    expect(value).toBe(first);
    expect(c.free_cnt.v).toBe(0);
    expect(c.active.v).toBe(0);
    expect(c.refill_work.pending).toBe(true);
    expect(drive(bpfMemCacheAlloc(x, ma)).value).toBeNull(); // empty until refill
  });

  it('buckets: bpf_mem_alloc picks the bucket of size + 8, bpf_mem_free the bucket of ksize', () => {
    const k = kernel();
    const ma = bpfMemAllocInit(k, { size: 0, percpu: false });
    const x = ctx(k, 1);
    const o = drive(bpfMemAlloc(x, ma, 120)).value!; // 128 bucket
    expect(o.size).toBe(128);
    const c128 = ma.caches!.caches[1 * NUM_CACHES + SIZES.indexOf(128)]!;
    expect(c128.free_cnt.v).toBe(3);
    drive(bpfMemFree(x, ma, o));
    expect(c128.free_cnt.v).toBe(4);
    expect(c128.free_llist.first).toBe(o);
    expect(drive(bpfMemAlloc(x, ma, 4089)).value).toBeNull(); // too big for any bucket
  });

  it('unit_free takes free_llist when active is free, free_llist_extra when it is taken (NMI path)', () => {
    const k = kernel();
    const ma = bpfMemAllocInit(k, { size: 8184, percpu: false });
    const c = ma.cache!.caches[0]!;
    const x = ctx(k, 0);
    const o = drive(bpfMemCacheAlloc(x, ma)).value!;
    c.active.v = 1; // a task on cpu0 is inside unit_alloc when the NMI comes
    const nmi = ctx(k, 0, 'nmi');
    const { steps } = drive(unitFree(nmi, c, o));
    expect(steps).toContain('llist_add(obj0)');
    expect(c.free_llist_extra.first).toBe(o);
    expect(c.free_cnt.v).toBe(0);
    expect(c.active.v).toBe(1);
  });

  it('unit_free raises the irq_work above high_watermark', () => {
    const k = kernel();
    const ma = bpfMemAllocInit(k, { size: 8184, percpu: false });
    const c = ma.cache!.caches[0]!;
    const x = ctx(k, 0);
    const objs: Obj[] = [];
    for (let i = 0; i < 4; i++) objs.push(drive(k.slab.kmalloc(x, 8192)).value!);
    for (const o of objs.slice(0, 2)) drive(bpfMemCacheFree(x, ma, o));
    expect(c.free_cnt.v).toBe(3);
    expect(c.refill_work.pending).toBe(false);
    drive(bpfMemCacheFree(x, ma, objs[2]!));
    expect(c.free_cnt.v).toBe(4);
    expect(c.refill_work.pending).toBe(true);
  });
});

describe('bpf_mem_refill()', () => {
  it('alloc_bulk adds batch objects below low_watermark, from free_by_rcu first', () => {
    const k = kernel();
    const ma = bpfMemAllocInit(k, { size: 4088, percpu: false }); // unit 4096: low 2, high 6, batch 3
    const c = ma.cache!.caches[0]!;
    const x = ctx(k, 0, 'hardirq');
    const reused = drive(k.slab.kmalloc(x, 4096)).value!;
    c.free_by_rcu.first = reused;
    const before = k.slab.live;
    drive(bpfMemRefill(x, c));
    expect(c.free_cnt.v).toBe(4);
    expect(len(c, 'free_llist')).toBe(4);
    expect(c.free_by_rcu.first).toBeNull();
    expect(k.slab.live).toBe(before + 2); // one reused, two new
  });

  it('free_bulk trims to (low+high)/2, drains free_llist_extra, queues one RCU tasks trace callback', () => {
    const k = kernel();
    const ma = bpfMemAllocInit(k, { size: 4088, percpu: false });
    const c = ma.cache!.caches[0]!;
    const x = ctx(k, 0);
    for (let i = 0; i < 7; i++) drive(unitFree(x, c, drive(k.slab.kmalloc(x, 4096)).value!));
    drive(unitFree(ctx(k, 0, 'nmi'), c, drive(k.slab.kmalloc(x, 4096)).value!)); // active free: free_llist
    c.free_llist_extra.first = drive(k.slab.kmalloc(x, 4096)).value!; // as if an NMI raced
    expect(c.free_cnt.v).toBe(9);
    refill(k, c);
    expect(c.free_cnt.v).toBe(4); // (2 + 6) / 2
    expect(len(c, 'free_llist')).toBe(4);
    expect(c.free_llist_extra.first).toBeNull();
    expect(len(c, 'waiting_for_gp')).toBe(6); // 5 trimmed + 1 extra
    expect(c.call_rcu_in_progress.v).toBe(1);
    expect(k.rcu.trace.pending).toHaveLength(1);
  });

  it('__free_rcu_tasks_trace chains call_rcu unless rcu_trace_implies_rcu_gp; __free_rcu frees to slab', () => {
    for (const implies of [false, true]) {
      const k = kernel({ rcuTraceImpliesRcuGp: implies });
      const { c } = withCallbackInFlight(k);
      const live = k.slab.live;
      k.rcu.endGp('rcu_tasks_trace');
      drive(invokeCallback(ctx(k, 0, 'softirq'), k.rcu.takeReady(0)!));
      expect(k.rcu.rcu.pending.length).toBe(implies ? 0 : 1);
      runCallbacks(k);
      expect(k.slab.live).toBe(live - 5);
      expect(c.waiting_for_gp.first).toBeNull();
      expect(c.call_rcu_in_progress.v).toBe(0);
    }
  });
});

describe('bpf_mem_alloc_destroy()', () => {
  it('fast path: nothing in flight, caches freed at once, every object back in slab', () => {
    const k = kernel();
    const ma = bpfMemAllocInit(k, { size: 8184, percpu: false });
    drive(bpfMemAllocDestroy(ctx(k, 0), ma));
    expect(ma.cache).toBeNull();
    expect(k.slab.live).toBe(0);
    expect(k.slab.structs.size).toBe(0);
    expect(k.pendingWork.size).toBe(0);
  });

  it('deferred path: with callbacks in flight, the caches are freed by a kworker after both barriers', () => {
    const k = kernel();
    const { ma, c } = withCallbackInFlight(k);
    const pc = ma.cache!;
    drive(bpfMemAllocDestroy(ctx(k, 0), ma));
    expect(pc.freed).toBe(false);
    expect(k.pendingWork.size).toBe(1);
    const w = [...k.pendingWork][0]!;
    // the kworker waits in rcu_barrier_tasks_trace() while the callback is queued
    const kw = ctx(k, 1, 'task', 'kworker');
    const g = (function* () {
      yield* w.fn(kw);
    })();
    for (let i = 0; i < 10; i++) g.next();
    expect(kw.waitWhat).toBe('rcu_barrier_tasks_trace');
    expect(pc.freed).toBe(false);
    runCallbacks(k);
    for (let r = g.next(); !r.done; r = g.next());
    expect(pc.freed).toBe(true);
    expect(k.slab.live).toBe(0);
    expect(k.slab.structs.size).toBe(0);
  });

  it('kmalloc of the copy fails: inline barriers in the caller', () => {
    const k = kernel();
    const { ma, c } = withCallbackInFlight(k);
    k.slab.armed.kmalloc = 1;
    const t = ctx(k, 0);
    const g = bpfMemAllocDestroy(t, ma);
    let r = g.next();
    for (let i = 0; i < 200 && !r.done && t.waitFor === null; i++) r = g.next();
    expect(t.waitWhat).toBe('rcu_barrier_tasks_trace');
    expect(k.pendingWork.size).toBe(0);
    runCallbacks(k);
    for (; !r.done; r = g.next());
    expect(k.slab.live).toBe(0);
  });
});
