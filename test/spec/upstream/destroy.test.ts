// spec/upstream/destroy.ts against memalloc.c today: drain_mem_cache()'s
// seven lists, check_mem_cache()'s WARN_ON_ONCEs, draining, the count of
// callbacks in flight, and the three teardown paths.
import { describe, expect, it } from 'vitest';
import { llistAdd } from '../../../spec/kernel/llist_cmpxchg.ts';
import { runWork } from '../../../spec/kernel/workqueue.ts';
import { CHECKED_LISTS } from '../../../spec/upstream/destroy.ts';
import { ctx, drive, runCallbacks } from '../../helpers/boot.ts';
import { owned, refill, setup } from './helpers.ts';
import { driveSeen, watch } from '../../helpers/situations.ts';
import { UPSTREAM_SITUATIONS } from '../../../spec/upstream/situations.ts';

describe('drain_mem_cache() / check_mem_cache()', () => {
  it('drain empties all seven lists to slab', () => {
    const { k, c0 } = setup();
    const x = ctx(k, 0);
    const objs = CHECKED_LISTS.map(() => owned(k, c0));
    CHECKED_LISTS.forEach((f, i) => drive(llistAdd(x, objs[i]!, c0[f])));
    drive(c0.ops.drain_mem_cache(x, c0));
    for (const f of CHECKED_LISTS) expect(c0[f].first, f).toBeNull();
    expect(objs.every((o) => o.state === 'slab')).toBe(true);
    drive(c0.ops.check_mem_cache(x, c0));
  });

  it.each(CHECKED_LISTS)('check_mem_cache() warns when %s is not empty', (f) => {
    const { k, c0 } = setup();
    const x = ctx(k, 0);
    drive(c0.ops.drain_mem_cache(x, c0));
    drive(llistAdd(x, owned(k, c0), c0[f]));
    expect(() => drive(c0.ops.check_mem_cache(x, c0))).toThrow(new RegExp(`NoKernelWarn: WARN_ON_ONCE\\(!llist_empty\\(&c->${f}\\)\\)`));
  });
});

describe('bpf_mem_alloc_destroy()', () => {
  it('fast path: sets draining on every cache, drains, checks, frees the caches', () => {
    const { k, ma, c0, c1 } = setup();
    const pc = ma.cache!;
    const { steps } = drive(ma.ops.bpf_mem_alloc_destroy(ctx(k, 0), ma));
    expect(steps.filter((s) => s === 'store draining = 1')).toHaveLength(2);
    expect([c0.draining.v, c1.draining.v]).toEqual([1, 1]);
    expect(steps.filter((s) => s.startsWith('llist_empty'))).toHaveLength(2 * 7);
    expect(pc.freed).toBe(true);
    expect(ma.cache).toBeNull();
    expect(k.slab.live).toBe(0);
    expect(k.slab.structs.size).toBe(0);
  });

  it('a __free_by_rcu() in flight counts (call_rcu_in_progress): deferred, rcu_barrier() first', () => {
    const { k, ma, c0 } = setup();
    watch(k, UPSTREAM_SITUATIONS);
    const o = owned(k, c0);
    drive(ma.ops.bpf_mem_cache_free_rcu(ctx(k, 0), ma, o));
    refill(k, c0); // check_free_by_rcu(): call_rcu_hurry(__free_by_rcu)
    expect(c0.call_rcu_in_progress.v).toBe(1);
    const pc = ma.cache!;
    const x = ctx(k, 0);
    driveSeen(x, ma.ops.bpf_mem_alloc_destroy(x, ma));
    expect(k.situations!.get('draining-set-while-callbacks-in-flight')).toBe(1);
    expect(pc.freed).toBe(false);
    const w = [...k.pendingWork][0]!;
    expect(w.fnName).toBe('free_mem_alloc_deferred');
    const kw = ctx(k, 1, 'task', 'kworker');
    const g = runWork(kw, w);
    for (let i = 0; i < 10 && kw.waitFor === null; i++) g.next();
    expect(kw.waitWhat).toBe('rcu_barrier');
    // __free_by_rcu runs on a draining cache: do_call_rcu_ttrace() frees at once
    runCallbacks(k);
    expect(o.state).toBe('slab');
    for (let r = g.next(); !r.done; r = g.next());
    expect(pc.freed).toBe(true);
    expect(k.slab.live).toBe(0);
    expect(k.slab.structs.size).toBe(0);
  });

  it('a tasks-trace callback in flight on another CPU\'s cache counts too; the copy failing means inline barriers', () => {
    const { k, ma, c0, c1 } = setup(4088); // low 2, high 6
    const objs = Array.from({ length: 8 }, () => owned(k, c0));
    for (const o of objs) drive(c1.ops.unit_free(ctx(k, 1), c1, o));
    refill(k, c1); // free_bulk(): to c0's waiting_for_gp_ttrace, call_rcu_tasks_trace
    expect(c0.call_rcu_ttrace_in_progress.v).toBe(1);
    refill(k, c0); // the irq_work unit_alloc() raised on cpu0
    k.slab.armed.kmalloc = 1;
    const t = ctx(k, 0);
    const g = ma.ops.bpf_mem_alloc_destroy(t, ma);
    let r = g.next();
    for (let i = 0; i < 500 && !r.done && t.waitFor === null; i++) r = g.next();
    // no normal RCU callback: the first rcu_barrier() returns at once
    expect(t.waitWhat).toBe('rcu_barrier_tasks_trace');
    expect(k.pendingWork.size).toBe(0);
    runCallbacks(k);
    for (; !r.done; r = g.next());
    expect(k.slab.live).toBe(0);
    expect(k.slab.structs.size).toBe(0);
  });
});
