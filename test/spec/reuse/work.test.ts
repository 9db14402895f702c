// Sequential behaviour of the reuse kworker and the RCU side
// (spec/reuse/work.ts, spec/reuse/rcu.ts, spec/reuse/refill.ts).
import { describe, expect, it } from 'vitest';
import { start } from '../../../spec/kernel/sched.ts';
import { runWork } from '../../../spec/kernel/workqueue.ts';
import { BpfReuseBatch } from '../../../spec/reuse/cache.ts';
import { waitGpReuseFree } from '../../../spec/reuse/free.ts';
import { bpfMaAddToReuseReadyOrFree, bpfMaFreeReusableCb, bpfMaReuseCb } from '../../../spec/reuse/rcu.ts';
import { allocBulk, bpfMaGetReusableObj } from '../../../spec/reuse/refill.ts';
import { bpfMaTryFreeReuseObjs } from '../../../spec/reuse/work.ts';
import { ctx, drive } from '../../helpers/boot.ts';
import { finish, kworker, names, obj, runCallbacks, setup, untilWaiting, type Setup } from './helpers.ts';

/** Free n objects on cpu0 so that reuse_work is queued (n > high_watermark). */
function freeN(s: Setup, n: number) {
  const objs = Array.from({ length: n }, () => obj(s.k));
  for (const o of objs) drive(waitGpReuseFree(ctx(s.k, 0), s.c, o));
  return objs;
}

describe('bpf_ma_prepare_reuse_work()', () => {
  it('takes prepare_reuse_head into a bpf_reuse_batch and queues bpf_ma_reuse_cb on normal RCU', () => {
    const s = setup();
    const objs = freeN(s, 4);
    kworker(s.k, s.c);
    expect(s.r.prepare_reuse_head.first).toBeNull();
    expect(s.r.prepare_reuse_tail).toBeNull();
    const batch = s.k.holders.find((h) => h.name.startsWith('batch0'))!;
    expect(names(batch.head())).toEqual(objs.map((o) => o.name).reverse());
    expect(s.k.rcu.rcu.pending.map((cb) => cb.name)).toEqual(['bpf_ma_reuse_cb']);
    expect(s.r.reuse_cb_in_progress.v).toBe(1); // until the callback runs
    expect(s.c.active.v).toBe(0);
  });

  it('after a grace period bpf_ma_reuse_cb makes the batch reusable, drops the count and frees the batch', () => {
    const s = setup();
    const objs = freeN(s, 4);
    kworker(s.k, s.c);
    expect(runCallbacks(s.k)).toEqual(['bpf_ma_reuse_cb']);
    expect(names(s.r.reuse_ready_head)).toEqual(objs.map((o) => o.name).reverse());
    expect(s.r.reuse_ready_tail).toBe(objs[0]);
    expect(s.r.reuse_cb_in_progress.v).toBe(0);
    expect(s.k.holders.some((h) => h.name.startsWith('batch'))).toBe(false);
    expect(s.k.slab.structs.size).toBe(1); // only ma->cache: the batch is gone
  });

  it('with nothing to do (drained) only drops reuse_cb_in_progress', () => {
    const s = setup();
    freeN(s, 4);
    s.r.prepare_reuse_head.first = null; // as drain_mem_cache() leaves it
    kworker(s.k, s.c);
    expect(s.r.reuse_cb_in_progress.v).toBe(0);
    expect(s.k.rcu.rcu.pending).toHaveLength(0);
  });

  it('when the batch kmalloc fails, waits in synchronize_rcu_expedited() and then fills reuse_ready itself', () => {
    const s = setup();
    const objs = freeN(s, 4);
    s.k.slab.armed.kmalloc = 1;
    const x = start(s.k, 0, 'task', 'kworker', (y) => runWork(y, s.r.reuse_work));
    const g = x.gen!;
    const steps = untilWaiting(x, g);
    expect(steps.at(-1)).toContain('synchronize_rcu_expedited');
    expect(s.r.reuse_ready_head.first).toBeNull(); // not before the grace period
    s.k.rcu.endGp('rcu');
    finish(x, g);
    expect(names(s.r.reuse_ready_head)).toEqual(objs.map((o) => o.name).reverse());
    expect(s.r.reuse_cb_in_progress.v).toBe(0);
  });

  it('as written, loses every object it takes from free_llist_extra (the loop never links them in)', () => {
    const s = setup();
    const objs = freeN(s, 4);
    const extra = [obj(s.k), obj(s.k)];
    s.c.active.v = 1;
    for (const o of extra) drive(waitGpReuseFree(ctx(s.k, 0, 'nmi'), s.c, o));
    s.c.active.v = 0;
    expect(names(s.c.free_llist_extra)).toHaveLength(2);
    kworker(s.k, s.c);
    expect(s.c.free_llist_extra.first).toBeNull();
    const batch = s.k.holders.find((h) => h.name.startsWith('batch0'))!;
    // the batch holds only the prepare_reuse_head objects ...
    expect(names(batch.head())).toEqual(objs.map((o) => o.name).reverse());
    // ... and the extra objects point into it but nothing points to them
    for (const o of extra) {
      expect(o.state).toBe('live');
      for (const h of s.k.holders) expect(names(h.head())).not.toContain(o.name);
    }
  });

  it('as written, with an empty prepare_reuse_head the free_llist_extra objects are dropped and no batch is made', () => {
    const s = setup();
    freeN(s, 4);
    s.r.prepare_reuse_head.first = null;
    const extra = obj(s.k);
    s.c.active.v = 1;
    drive(waitGpReuseFree(ctx(s.k, 0, 'nmi'), s.c, extra));
    s.c.active.v = 0;
    kworker(s.k, s.c);
    expect(s.k.rcu.rcu.pending).toHaveLength(0);
    expect(extra.state).toBe('live');
    for (const h of s.k.holders) expect(names(h.head())).not.toContain(extra.name);
  });

  it("on another CPU (the cache's went offline) leaves 'active' alone", () => {
    const s = setup();
    freeN(s, 4);
    s.c.active.v = 5; // would trip the WARN_ON_ONCE on its own CPU
    kworker(s.k, s.c, 1);
    expect(s.c.active.v).toBe(5);
    expect(s.k.rcu.rcu.pending.map((cb) => cb.cpu)).toEqual([1]);
  });
});

describe('bpf_ma_try_free_reuse_objs()', () => {
  it('returns false on an empty reuse_ready_head', () => {
    const s = setup();
    expect(drive(bpfMaTryFreeReuseObjs(ctx(s.k, 0), s.c)).value).toBe(false);
    expect(s.r.free_cb_in_progress.v).toBe(0);
  });

  it('claims free_cb_in_progress and moves reuse_ready to wait_for_free, tail and all', () => {
    const s = setup();
    const objs = freeN(s, 4);
    kworker(s.k, s.c);
    runCallbacks(s.k);
    expect(drive(bpfMaTryFreeReuseObjs(ctx(s.k, 0), s.c)).value).toBe(true);
    expect(s.r.free_cb_in_progress.v).toBe(1);
    expect(s.r.reuse_ready_head.first).toBeNull();
    expect(s.r.reuse_ready_tail).toBeNull();
    expect(names(s.r.wait_for_free)).toEqual(objs.map((o) => o.name).reverse());
  });

  it('returns false while a free callback is in progress', () => {
    const s = setup();
    freeN(s, 4);
    kworker(s.k, s.c);
    runCallbacks(s.k);
    s.r.free_cb_in_progress.v = 1;
    expect(drive(bpfMaTryFreeReuseObjs(ctx(s.k, 0), s.c)).value).toBe(false);
    expect(s.r.wait_for_free.first).toBeNull();
  });
});

describe('bpf_ma_add_to_reuse_ready_or_free() and the callbacks', () => {
  it('splices a batch in front and keeps the tail of the older objects', () => {
    const s = setup();
    const [a, b, c2] = [obj(s.k), obj(s.k), obj(s.k)];
    a.next = null;
    drive(bpfMaAddToReuseReadyOrFree(ctx(s.k, 0), s.c, a, a));
    c2.next = b;
    b.next = null;
    drive(bpfMaAddToReuseReadyOrFree(ctx(s.k, 0), s.c, c2, b));
    expect(names(s.r.reuse_ready_head)).toEqual([c2.name, b.name, a.name]);
    expect(s.r.reuse_ready_tail).toBe(a);
  });

  it('frees the chain when abort_reuse is set', () => {
    const s = setup();
    const [a, b] = [obj(s.k), obj(s.k)];
    a.next = b;
    b.next = null;
    s.r.abort_reuse = true;
    drive(bpfMaAddToReuseReadyOrFree(ctx(s.k, 0), s.c, a, b));
    expect([a.state, b.state]).toEqual(['slab', 'slab']);
    expect(s.r.reuse_ready_head.first).toBeNull();
  });

  it('bpf_ma_reuse_cb hands the chain on, decrements, and kfrees the batch', () => {
    const s = setup();
    const a = obj(s.k);
    const aux = drive(s.k.slab.kmallocAux(ctx(s.k, 0), 'bpf_reuse_batch')).value!;
    const batch = new BpfReuseBatch(aux, s.c, 'batch9');
    batch.head = batch.tail = a;
    s.k.register(batch.holder);
    s.r.reuse_cb_in_progress.v = 1;
    drive(bpfMaReuseCb(ctx(s.k, 0, 'softirq'), batch));
    expect(s.k.holders).not.toContain(batch.holder);
    expect(names(s.r.reuse_ready_head)).toEqual([a.name]);
    expect(s.r.reuse_cb_in_progress.v).toBe(0);
    expect(aux.freed).toBe(true);
  });

  it('bpf_ma_free_reusable_cb frees what is left on wait_for_free and releases free_cb_in_progress', () => {
    const s = setup();
    const [a, b] = [obj(s.k), obj(s.k)];
    a.next = b;
    b.next = null;
    s.r.wait_for_free.first = a;
    s.r.free_cb_in_progress.v = 1;
    drive(bpfMaFreeReusableCb(ctx(s.k, 0, 'softirq'), s.c));
    expect([a.state, b.state]).toEqual(['slab', 'slab']);
    expect(s.r.wait_for_free.first).toBeNull();
    expect(s.r.free_cb_in_progress.v).toBe(0);
  });

  it('a second kworker run moves reuse_ready to wait_for_free and queues bpf_ma_free_reusable_cb on c->rcu', () => {
    const s = setup();
    const first = freeN(s, 4);
    kworker(s.k, s.c);
    runCallbacks(s.k);
    freeN(s, 4);
    kworker(s.k, s.c);
    expect(names(s.r.wait_for_free)).toEqual(first.map((o) => o.name).reverse());
    expect(s.k.rcu.trace.pending.map((cb) => cb.name)).toEqual(['bpf_ma_free_reusable_cb']);
    expect(runCallbacks(s.k).sort()).toEqual(['bpf_ma_free_reusable_cb', 'bpf_ma_reuse_cb']);
    for (const o of first) expect(o.state).toBe('slab');
  });
});

describe('bpf_ma_get_reusable_obj() and alloc_bulk()', () => {
  it('returns NULL without taking reuse_lock when both lists are empty', () => {
    const s = setup();
    const { value, steps } = drive(bpfMaGetReusableObj(ctx(s.k, 0), s.c));
    expect(value).toBeNull();
    expect(steps.some((t) => t.includes('reuse_lock'))).toBe(false);
  });

  it('takes reuse_ready first (resetting the tail when it empties), then wait_for_free', () => {
    const s = setup();
    const [a, b] = [obj(s.k), obj(s.k)];
    a.next = null;
    b.next = null;
    s.r.reuse_ready_head.first = a;
    s.r.reuse_ready_tail = a;
    s.r.wait_for_free.first = b;
    expect(drive(bpfMaGetReusableObj(ctx(s.k, 0), s.c)).value).toBe(a);
    expect(s.r.reuse_ready_tail).toBeNull();
    expect(drive(bpfMaGetReusableObj(ctx(s.k, 0), s.c)).value).toBe(b);
    expect(drive(bpfMaGetReusableObj(ctx(s.k, 0), s.c)).value).toBeNull();
  });

  it('alloc_bulk refills free_llist from reusable objects before kmalloc', () => {
    const s = setup();
    const a = obj(s.k);
    a.next = null;
    s.r.reuse_ready_head.first = a;
    s.r.reuse_ready_tail = a;
    const created = s.k.slab.created;
    drive(allocBulk(ctx(s.k, 0, 'hardirq'), s.c, 2));
    expect(names(s.c.free_llist).slice(0, 2)).toEqual([`obj${created}`, a.name]);
    expect(s.c.free_cnt.v).toBe(3); // prefill 1 + 2
    expect(s.k.slab.created).toBe(created + 1);
  });
});
