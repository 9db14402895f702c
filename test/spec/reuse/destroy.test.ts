// The RFC teardown (spec/reuse/destroy.ts): drain_mem_cache() with
// abort_reuse, the counters bpf_mem_alloc_destroy() reads, and that
// free_mem_alloc() waits for what is in flight: cancel_work_sync() for a
// running kworker, the barriers for bpf_ma_reuse_cb/bpf_ma_free_reusable_cb.
import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import { start } from '../../../spec/kernel/sched.ts';
import { runWork, type Work } from '../../../spec/kernel/workqueue.ts';
import { bpfMemAllocDestroy, drainMemCache } from '../../../spec/reuse/destroy.ts';
import { waitGpReuseFree } from '../../../spec/reuse/free.ts';
import { ctx, drive } from '../../helpers/boot.ts';
import { finish, kworker, obj, runCallbacks, setup, untilWaiting, type Setup } from './helpers.ts';

function freeN(s: Setup, n: number) {
  const objs = Array.from({ length: n }, () => obj(s.k));
  for (const o of objs) drive(waitGpReuseFree(ctx(s.k, 0), s.c, o));
  return objs;
}

/** bpf_mem_alloc_destroy() on cpu1 to its end; returns the deferred work it queued, if any. */
function destroy(s: Setup): Work | undefined {
  drive(bpfMemAllocDestroy(ctx(s.k, 1, 'task', 'map_free'), s.ma));
  return [...s.k.pendingWork].find((w) => w.fnName === 'free_mem_alloc_deferred');
}

function startDeferred(k: Kernel, w: Work) {
  const x = start(k, 1, 'task', 'kworker', (y) => runWork(y, w));
  return { x, g: x.gen! };
}

describe('drain_mem_cache() (RFC)', () => {
  it('sets abort_reuse and frees prepare_reuse_head, reuse_ready_head and wait_for_free', () => {
    const s = setup();
    const first = freeN(s, 4);
    kworker(s.k, s.c);
    runCallbacks(s.k); // first batch on reuse_ready
    const second = freeN(s, 2); // on prepare_reuse_head
    drive(drainMemCache(ctx(s.k, 1), s.c, s.ma.flags));
    expect(s.r.abort_reuse).toBe(true);
    for (const o of [...first, ...second]) expect(o.state).toBe('slab');
    expect([s.r.prepare_reuse_head.first, s.r.reuse_ready_head.first, s.r.wait_for_free.first]).toEqual([null, null, null]);
    expect([s.r.prepare_reuse_tail, s.r.reuse_ready_tail]).toEqual([null, null]);
  });
});

describe('bpf_mem_alloc_destroy() (RFC)', () => {
  it('takes the fast path, without barriers, when no kworker or callback is counted', () => {
    const s = setup();
    freeN(s, 2);
    expect(destroy(s)).toBeUndefined();
    expect(s.c.freed).toBe(true);
    expect(s.k.slab.live).toBe(0);
  });

  it('defers to free_mem_alloc() when reuse_cb_in_progress counts a queued kworker, which cancel_work_sync() drops', () => {
    const s = setup();
    freeN(s, 4);
    expect(s.r.reuse_work.pending).toBe(true);
    const w = destroy(s)!;
    expect(w).toBeDefined();
    expect(s.c.freed).toBe(false);
    const { x, g } = startDeferred(s.k, w);
    finish(x, g);
    expect(s.r.reuse_work.pending).toBe(false);
    expect(s.c.freed).toBe(true);
    expect(s.k.slab.live).toBe(0);
    expect(s.k.slab.structs.size).toBe(0);
  });

  it('cancel_work_sync() waits for a kworker that is running (asleep in synchronize_rcu_expedited)', () => {
    const s = setup();
    const objs = freeN(s, 4);
    s.k.slab.armed.kmalloc = 1; // the bpf_reuse_batch allocation fails
    const kw = start(s.k, 0, 'task', 'kworker', (y) => runWork(y, s.r.reuse_work));
    expect(untilWaiting(kw, kw.gen!).at(-1)).toContain('synchronize_rcu_expedited');

    const w = destroy(s)!;
    const { x, g } = startDeferred(s.k, w);
    untilWaiting(x, g);
    expect(x.waitWhat).toContain('cancel_work_sync');
    expect(s.c.freed).toBe(false);

    s.k.rcu.endGp('rcu');
    finish(kw, kw.gen!); // sees abort_reuse: frees its chain
    for (const o of objs) expect(o.state).toBe('slab');
    finish(x, g);
    expect(s.c.freed).toBe(true);
    expect(s.k.slab.structs.size).toBe(0);
  });

  it('rcu_barrier() waits for a bpf_ma_reuse_cb in flight, which then frees its batch (abort_reuse)', () => {
    const s = setup();
    const objs = freeN(s, 4);
    kworker(s.k, s.c);
    const w = destroy(s)!;
    const { x, g } = startDeferred(s.k, w);
    untilWaiting(x, g);
    expect(x.waitWhat).toBe('rcu_barrier');
    expect(s.c.freed).toBe(false);
    expect(runCallbacks(s.k)).toEqual(['bpf_ma_reuse_cb']);
    for (const o of objs) expect(o.state).toBe('slab');
    finish(x, g);
    expect(s.c.freed).toBe(true);
    expect(s.k.slab.live).toBe(0);
    expect(s.k.slab.structs.size).toBe(0);
  });

  it('rcu_barrier_tasks_trace() waits for a bpf_ma_free_reusable_cb in flight', () => {
    const s = setup();
    freeN(s, 4);
    kworker(s.k, s.c);
    runCallbacks(s.k);
    freeN(s, 4);
    kworker(s.k, s.c); // reuse_ready -> wait_for_free, bpf_ma_free_reusable_cb queued
    expect(s.r.free_cb_in_progress.v).toBe(1);
    const w = destroy(s)!;
    const { x, g } = startDeferred(s.k, w);
    untilWaiting(x, g);
    expect(x.waitWhat).toBe('rcu_barrier_tasks_trace');
    expect(s.c.freed).toBe(false);
    expect(runCallbacks(s.k).sort()).toEqual(['bpf_ma_free_reusable_cb', 'bpf_ma_reuse_cb']);
    finish(x, g);
    expect(s.c.freed).toBe(true);
    expect(s.k.slab.live).toBe(0);
  });
});
