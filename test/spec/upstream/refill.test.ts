// spec/upstream/refill.ts and rcu.ts against memalloc.c today: alloc_bulk()'s
// order of sources, free_bulk() into c->tgt, do_call_rcu_ttrace() and its
// draining exits, check_free_by_rcu(), __free_by_rcu(), the life of a
// bpf_mem_free_rcu()'d object.
import { describe, expect, it } from 'vitest';
import { llistAdd } from '../../../spec/kernel/llist_cmpxchg.ts';
import { upstreamInit } from '../../../spec/policies/bpf-ma-upstream.ts';
import { cachesOf, type UpstreamOps } from '../../../spec/upstream/cache.ts';
import { upstreamOps } from '../../../spec/upstream/ops.ts';
import { ctx, drive, kernel, runCallbacks } from '../../helpers/boot.ts';
import { len, names, owned, refill, setup } from './helpers.ts';
import { driveSeen, watch } from '../../helpers/situations.ts';
import { UPSTREAM_SITUATIONS } from '../../../spec/upstream/situations.ts';

describe('alloc_bulk()', () => {
  it('takes free_by_rcu_ttrace first, then waiting_for_gp_ttrace, then kmalloc', () => {
    const { k, c0 } = setup(4088); // unit 4096: low 2, high 6, batch 3
    const x = ctx(k, 0, 'hardirq');
    const prefilled = c0.free_llist.first!;
    const a = drive(k.slab.kmalloc(x, 4096)).value!;
    const b = drive(k.slab.kmalloc(x, 4096)).value!;
    drive(llistAdd(x, a, c0.free_by_rcu_ttrace));
    drive(llistAdd(x, b, c0.waiting_for_gp_ttrace));
    const live = k.slab.live;
    const { steps } = drive(c0.ops.alloc_bulk(x, c0, 3, true));
    const [fresh, ...rest] = names(c0.free_llist);
    expect(rest).toEqual([b.name, a.name, prefilled.name]);
    expect([a.name, b.name, prefilled.name]).not.toContain(fresh);
    expect(c0.free_by_rcu_ttrace.first).toBeNull();
    expect(c0.waiting_for_gp_ttrace.first).toBeNull();
    expect(k.slab.live).toBe(live + 1);
    expect(c0.free_cnt.v).toBe(1 + 3);
    // each list is read until it comes back empty
    expect(steps.filter((s) => s.startsWith('llist_del_first: entry'))).toHaveLength(4);
  });

  it('stops at the first kmalloc failure', () => {
    const { k, c0 } = setup(4088);
    k.slab.armed.kmalloc = 1;
    drive(c0.ops.alloc_bulk(ctx(k, 0, 'hardirq'), c0, 3, true));
    expect(c0.free_cnt.v).toBe(1);
  });

  it('prefill allocates with GFP_KERNEL: from an atomic context it is NoSleepInAtomic', () => {
    const { k, c0 } = setup(4088);
    expect(() => drive(c0.ops.prefill_mem_cache(ctx(k, 0, 'hardirq'), c0, 0))).toThrow(/NoSleepInAtomic/);
  });
});

describe('free_bulk()', () => {
  it('trims free_llist to (low + high) / 2 and sends the objects and free_llist_extra to c->tgt', () => {
    const { k, c0, c1 } = setup(4088); // low 2, high 6
    watch(k, UPSTREAM_SITUATIONS);
    const objs = Array.from({ length: 8 }, () => owned(k, c0));
    const x1 = ctx(k, 1);
    for (const o of objs.slice(0, 7)) drive(c1.ops.unit_free(x1, c1, o));
    c1.active.v = 1;
    drive(c1.ops.unit_free(ctx(k, 1, 'nmi'), c1, objs[7]!));
    c1.active.v = 0;
    expect(c1.tgt).toBe(c0);
    expect(c1.free_cnt.v).toBe(8);
    const y = ctx(k, 1, 'hardirq');
    driveSeen(y, c1.ops.free_bulk(y, c1));
    expect(c1.free_cnt.v).toBe(4);
    expect(len(c1.free_llist)).toBe(4);
    expect(c1.free_llist_extra.first).toBeNull();
    // 4 trimmed + 1 extra went to cpu0's cache and wait for tasks trace there
    expect(len(c0.waiting_for_gp_ttrace)).toBe(5);
    expect(c0.call_rcu_ttrace_in_progress.v).toBe(1);
    expect(c1.call_rcu_ttrace_in_progress.v).toBe(0);
    // queued on cpu1 (where free_bulk ran) on cpu0's cache's rcu_ttrace
    expect(k.rcu.trace.pending).toHaveLength(1);
    expect(k.rcu.trace.pending[0]!.cpu).toBe(1);
    expect(k.rcu.trace.pending[0]!.head).toBe(c0.rcu_ttrace);
    expect(k.situations!.get('free_bulk-into-other-cpu-tgt')).toBe(1);
  });
});

describe('do_call_rcu_ttrace()', () => {
  it('with a callback in flight leaves the objects on free_by_rcu_ttrace', () => {
    const { k, c0 } = setup();
    const x = ctx(k, 0, 'hardirq');
    const o = owned(k, c0);
    drive(llistAdd(x, o, c0.free_by_rcu_ttrace));
    c0.call_rcu_ttrace_in_progress.v = 1;
    drive(c0.ops.do_call_rcu_ttrace(x, c0));
    expect(c0.free_by_rcu_ttrace.first).toBe(o);
    expect(k.rcu.trace.pending).toHaveLength(0);
  });

  it('draining, callback in flight: frees free_by_rcu_ttrace at once', () => {
    const { k, c0 } = setup();
    const x = ctx(k, 0, 'hardirq');
    const o = owned(k, c0);
    drive(llistAdd(x, o, c0.free_by_rcu_ttrace));
    c0.call_rcu_ttrace_in_progress.v = 1;
    c0.draining.v = 1;
    drive(c0.ops.do_call_rcu_ttrace(x, c0));
    expect(o.state).toBe('slab');
    expect(c0.call_rcu_ttrace_in_progress.v).toBe(1);
  });

  it('draining, nothing in flight: moves to waiting_for_gp_ttrace and calls __free_rcu() itself', () => {
    const { k, c0 } = setup();
    const x = ctx(k, 0, 'hardirq');
    const o = owned(k, c0);
    drive(llistAdd(x, o, c0.free_by_rcu_ttrace));
    c0.draining.v = 1;
    const { steps } = drive(c0.ops.do_call_rcu_ttrace(x, c0));
    expect(o.state).toBe('slab');
    expect(c0.call_rcu_ttrace_in_progress.v).toBe(0);
    expect(k.rcu.trace.pending).toHaveLength(0);
    expect(steps.some((s) => s.startsWith('llist_add('))).toBe(true);
  });

  it('warns if waiting_for_gp_ttrace is not empty when it starts a grace period', () => {
    const { k, c0 } = setup();
    const x = ctx(k, 0, 'hardirq');
    drive(llistAdd(x, owned(k, c0), c0.waiting_for_gp_ttrace));
    expect(() => drive(c0.ops.do_call_rcu_ttrace(x, c0))).toThrow(/WARN_ON_ONCE\(!llist_empty\(&c->waiting_for_gp_ttrace\)\)/);
  });

  it('__free_rcu_tasks_trace chains call_rcu unless rcu_trace_implies_rcu_gp; __free_rcu frees to slab', () => {
    for (const implies of [false, true]) {
      const { k, c0 } = setup(8184, false, { rcuTraceImpliesRcuGp: implies });
      const x = ctx(k, 0, 'hardirq');
      const o = owned(k, c0);
      drive(llistAdd(x, o, c0.free_by_rcu_ttrace));
      drive(c0.ops.do_call_rcu_ttrace(x, c0));
      k.rcu.endGp('rcu_tasks_trace');
      expect(runCallbacks(k)).toEqual(implies ? ['__free_rcu_tasks_trace'] : ['__free_rcu_tasks_trace', '__free_rcu']);
      expect(o.state).toBe('slab');
      expect(c0.call_rcu_ttrace_in_progress.v).toBe(0);
    }
  });
});

describe('check_free_by_rcu() and __free_by_rcu()', () => {
  it('moves free_llist_extra_rcu onto free_by_rcu (tail = the first added), then free_by_rcu to waiting_for_gp, and call_rcu_hurry()s', () => {
    const { k, c0 } = setup();
    const [a, b, n] = [owned(k, c0), owned(k, c0), owned(k, c0)];
    const x = ctx(k, 0);
    c0.active.v = 1;
    const nmi = ctx(k, 0, 'nmi');
    drive(c0.ops.unit_free_rcu(nmi, c0, a));
    drive(c0.ops.unit_free_rcu(nmi, c0, b));
    c0.active.v = 0;
    expect(names(c0.free_llist_extra_rcu)).toEqual([b.name, a.name]);
    drive(c0.ops.unit_free_rcu(x, c0, n)); // n is free_by_rcu's tail
    drive(c0.ops.check_free_by_rcu(ctx(k, 0, 'hardirq'), c0));
    expect(c0.free_llist_extra_rcu.first).toBeNull();
    expect(c0.free_by_rcu.first).toBeNull();
    expect(names(c0.waiting_for_gp)).toEqual([a.name, b.name, n.name]);
    expect(c0.waiting_for_gp_tail).toBe(n);
    expect(c0.call_rcu_in_progress.v).toBe(1);
    expect(k.rcu.rcu.pending.map((cb) => cb.name)).toEqual(['__free_by_rcu']);
  });

  it('while call_rcu_in_progress the objects stay on free_by_rcu', () => {
    const { k, c0 } = setup();
    const o = owned(k, c0);
    drive(c0.ops.unit_free_rcu(ctx(k, 0), c0, o));
    c0.call_rcu_in_progress.v = 1;
    drive(c0.ops.check_free_by_rcu(ctx(k, 0, 'hardirq'), c0));
    expect(c0.free_by_rcu.first).toBe(o);
    expect(k.rcu.rcu.pending).toHaveLength(0);
  });

  it('draining: frees at once instead of waiting for a grace period', () => {
    const { k, c0 } = setup();
    const o = owned(k, c0);
    drive(c0.ops.unit_free_rcu(ctx(k, 0), c0, o));
    c0.draining.v = 1;
    drive(c0.ops.check_free_by_rcu(ctx(k, 0, 'hardirq'), c0));
    expect(o.state).toBe('slab');
    expect(c0.call_rcu_in_progress.v).toBe(0);
    expect(k.rcu.rcu.pending).toHaveLength(0);
  });

  it('a bpf_mem_free_rcu()d object: normal GP, then the tgt\'s tasks-trace chain, then slab (unless reused)', () => {
    const { k, ma, c0, c1 } = setup();
    watch(k, UPSTREAM_SITUATIONS);
    const o = owned(k, c0);
    drive(ma.ops.bpf_mem_cache_free_rcu(ctx(k, 1), ma, o)); // freed on cpu1, allocated on cpu0
    expect(c1.tgt).toBe(c0);
    refill(k, c1);
    expect(c1.waiting_for_gp.first).toBe(o);
    k.rcu.endGp('rcu');
    const cb = k.rcu.takeReady(1)!;
    expect(cb.name).toBe('__free_by_rcu');
    k.rcu.rcu.ready[1]!.unshift(cb);
    // __free_by_rcu splices onto cpu0's free_by_rcu_ttrace and starts its tasks trace GP
    expect(runCallbacks(k)).toEqual(['__free_by_rcu', '__free_rcu_tasks_trace', '__free_rcu']);
    expect(k.situations!.get('__free_by_rcu-into-other-cpu-tgt')).toBe(1);
    expect(o.state).toBe('slab');
    expect(c1.call_rcu_in_progress.v).toBe(0);
    expect(c0.call_rcu_ttrace_in_progress.v).toBe(0);
  });

  it('bpf_mem_refill() runs check_free_by_rcu() after alloc_bulk()/free_bulk()', () => {
    const { k, c0 } = setup();
    const o = owned(k, c0); // free_cnt 0 < low 1: alloc_bulk
    drive(c0.ops.unit_free_rcu(ctx(k, 0), c0, o));
    refill(k, c0);
    expect(c0.free_cnt.v).toBe(1);
    expect(c0.waiting_for_gp.first).toBe(o);
  });
});

describe('the ops table', () => {
  it('callers go through c.ops, so a variant replaces one function and keeps the rest', () => {
    const k = kernel();
    const seen: string[] = [];
    const ops: UpstreamOps = {
      ...upstreamOps,
      *enque_to_free(x, c, obj) {
        seen.push(`${obj.name}->${c.name}`);
        yield* upstreamOps.enque_to_free(x, c, obj);
      },
    };
    const ma = upstreamInit(k, { size: 4088, percpu: false }, ops);
    const [c0] = cachesOf(ma.cache!);
    expect(c0!.ops).toBe(ops);
    const objs = Array.from({ length: 7 }, () => owned(k, c0!));
    for (const o of objs) drive(c0!.ops.unit_free(ctx(k, 0), c0!, o));
    refill(k, c0!);
    // 7 on free_llist, trimmed to (2 + 6) / 2 = 4
    expect(c0!.free_cnt.v).toBe(4);
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.endsWith('->c[cpu0]'))).toBe(true);
  });
});
