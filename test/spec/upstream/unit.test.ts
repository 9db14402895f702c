// spec/upstream/unit.ts against memalloc.c today: the cache hint, c->tgt,
// the irq_work raised before IRQs come back on, unit_free_rcu(), the entry
// points.
import { describe, expect, it } from 'vitest';
import { NUM_CACHES, SIZES } from '../../../spec/memalloc/cache.ts';
import { hintOf, cachesOf } from '../../../spec/upstream/cache.ts';
import { ctx, drive } from '../../helpers/boot.ts';
import { len, names, owned, setup } from './helpers.ts';
import { driveSeen, watch } from '../../helpers/situations.ts';
import { UPSTREAM_SITUATIONS } from '../../../spec/upstream/situations.ts';

describe('unit_alloc()', () => {
  it('pops free_llist, writes the cache hint into the object, raises the irq_work while IRQs are still off', () => {
    const { k, ma, c0 } = setup();
    const x = ctx(k, 0);
    const first = c0.free_llist.first!;
    const g = ma.ops.bpf_mem_cache_alloc(x, ma);
    const steps: string[] = [];
    let irqsOffAtQueue: boolean | null = null;
    let r = g.next();
    for (; !r.done; r = g.next()) {
      steps.push(r.value);
      if (r.value.startsWith('__irq_work_queue_local')) irqsOffAtQueue = k.cpus[0]!.irqsOff;
    }
    expect(r.value).toBe(first);
    expect(hintOf(first)).toBe(c0);
    expect(c0.free_cnt.v).toBe(0);
    // free_cnt 0 < low_watermark 1: raise, then restore (62cf51cb0ebe)
    const q = steps.findIndex((s) => s.startsWith('__irq_work_queue_local'));
    const restore = steps.findIndex((s) => s.startsWith('local_irq_restore'));
    expect(q).toBeGreaterThan(0);
    expect(restore).toBe(q + 1);
    expect(irqsOffAtQueue).toBe(true);
    expect(steps).toContain('*(struct bpf_mem_cache **)llnode = c[cpu0]');
    expect(k.cpus[0]!.irqsOff).toBe(false);
  });

  it('NMI while active is taken gets nothing and still raises the irq_work', () => {
    const { k, c0 } = setup();
    c0.active.v = 1;
    expect(drive(c0.ops.unit_alloc(ctx(k, 0, 'nmi'), c0)).value).toBeNull();
    expect(c0.free_cnt.v).toBe(1);
    expect(c0.refill_work.pending).toBe(true);
  });
});

describe('unit_free()', () => {
  it('records the hint of an object another CPU allocated in c->tgt and pushes free_llist', () => {
    const { k, ma, c0, c1 } = setup();
    watch(k, UPSTREAM_SITUATIONS);
    const o = owned(k, c0);
    const x1 = ctx(k, 1);
    const { steps } = driveSeen(x1, ma.ops.bpf_mem_cache_free(x1, ma, o));
    expect(steps[0]).toBe('c->tgt = *(struct bpf_mem_cache **)llnode (c[cpu0])');
    expect(c1.tgt).toBe(c0);
    expect(c1.free_llist.first).toBe(o);
    expect(c1.free_cnt.v).toBe(2);
    expect(k.situations!.get('free-of-other-cpu-object')).toBe(1);
    // the word is llnode->next again: the hint is gone
    expect(() => hintOf(o)).toThrow(/carries no cache pointer in its header/);
  });

  it('takes free_llist_extra (atomic llist_add) when active is taken', () => {
    const { k, c0 } = setup();
    const o = owned(k, c0);
    c0.active.v = 1;
    drive(c0.ops.unit_free(ctx(k, 0, 'nmi'), c0, o));
    expect(c0.free_llist_extra.first).toBe(o);
    expect(c0.free_cnt.v).toBe(0);
  });

  it('raises the irq_work above high_watermark, before local_irq_restore (566f6de3cea3)', () => {
    const { k, c0 } = setup();
    const x = ctx(k, 0);
    const objs = [owned(k, c0), owned(k, c0), owned(k, c0), owned(k, c0)];
    c0.refill_work.pending = c0.refill_work.queued = false; // as if the irq_work had run
    k.pendingIrqWork.clear();
    for (const o of objs.slice(0, 3)) drive(c0.ops.unit_free(x, c0, o));
    expect(c0.free_cnt.v).toBe(3);
    expect(c0.refill_work.pending).toBe(false);
    const { steps } = drive(c0.ops.unit_free(x, c0, objs[3]!));
    expect(c0.free_cnt.v).toBe(4);
    expect(steps.slice(-2)).toEqual(['__irq_work_queue_local(&refill_work): raise self-IPI', 'local_irq_restore(flags): IRQs on']);
  });
});

describe('unit_free_rcu()', () => {
  it('pushes free_by_rcu, sets free_by_rcu_tail on the first add, raises the irq_work while no call_rcu is in progress', () => {
    const { k, ma, c0 } = setup();
    const [a, b] = [owned(k, c0), owned(k, c0)];
    k.pendingIrqWork.clear();
    c0.refill_work.pending = c0.refill_work.queued = false; // as if the irq_work had run
    const x = ctx(k, 0);
    drive(ma.ops.bpf_mem_cache_free_rcu(x, ma, a));
    drive(ma.ops.bpf_mem_cache_free_rcu(x, ma, b));
    expect(names(c0.free_by_rcu)).toEqual([b.name, a.name]);
    expect(c0.free_by_rcu_tail).toBe(a);
    expect(c0.free_cnt.v).toBe(0); // not on free_llist
    expect(c0.refill_work.pending).toBe(true);
  });

  it('does not raise the irq_work while call_rcu_in_progress', () => {
    const { k, c0 } = setup();
    const o = owned(k, c0);
    k.pendingIrqWork.clear();
    c0.refill_work.pending = c0.refill_work.queued = false; // as if the irq_work had run
    c0.call_rcu_in_progress.v = 1;
    drive(c0.ops.unit_free_rcu(ctx(k, 0), c0, o));
    expect(c0.refill_work.pending).toBe(false);
  });

  it('takes free_llist_extra_rcu when active is taken', () => {
    const { k, c0 } = setup();
    const o = owned(k, c0);
    c0.active.v = 1;
    drive(c0.ops.unit_free_rcu(ctx(k, 0, 'nmi'), c0, o));
    expect(c0.free_llist_extra_rcu.first).toBe(o);
    expect(c0.free_by_rcu.first).toBeNull();
  });
});

describe('bpf_mem_alloc() / bpf_mem_free() / bpf_mem_free_rcu()', () => {
  it('size buckets: size + 8 picks the bucket; the free picks it from the hint, whichever CPU frees', () => {
    const { k, ma } = setup(0);
    const caches = cachesOf(ma.caches!);
    const i128 = SIZES.indexOf(128);
    const o = drive(ma.ops.bpf_mem_alloc(ctx(k, 0), ma, 120)).value!;
    expect(hintOf(o)).toBe(caches[i128]);
    const on1 = caches[NUM_CACHES + i128]!;
    drive(ma.ops.bpf_mem_free(ctx(k, 1), ma, o));
    expect(on1.free_llist.first).toBe(o);
    expect(on1.tgt).toBe(caches[i128]);
    expect(drive(ma.ops.bpf_mem_alloc(ctx(k, 0), ma, 0)).value).toBeNull();
    expect(drive(ma.ops.bpf_mem_alloc(ctx(k, 0), ma, 4089)).value).toBeNull();
  });

  it('bpf_mem_free_rcu() goes to free_by_rcu of the bucket', () => {
    const { k, ma } = setup(0);
    const caches = cachesOf(ma.caches!);
    const o = drive(ma.ops.bpf_mem_alloc(ctx(k, 0), ma, 1000)).value!;
    drive(ma.ops.bpf_mem_free_rcu(ctx(k, 0), ma, o));
    expect(caches[SIZES.indexOf(1024)]!.free_by_rcu.first).toBe(o);
  });

  it('per-CPU objects: no llist_node padding, so 64 bytes is the 64 bucket', () => {
    const { k, ma } = setup(0, true);
    const caches = cachesOf(ma.caches!);
    const o = drive(ma.ops.bpf_mem_alloc(ctx(k, 0), ma, 64)).value!;
    expect(hintOf(o)).toBe(caches[SIZES.indexOf(64)]);
    expect(o.pptrBytes).toBe(64);
  });
});

describe('bpf_mem_cache_alloc_flags() / bpf_mem_cache_raw_free()', () => {
  it('GFP_KERNEL falls back to kmalloc when free_llist is empty, with the hint set', () => {
    const { k, ma, c0 } = setup();
    const x = ctx(k, 0);
    drive(ma.ops.bpf_mem_cache_alloc(x, ma)); // empties free_llist
    const live = k.slab.live;
    expect(drive(ma.ops.bpf_mem_cache_alloc_flags(x, ma, 'GFP_NOWAIT')).value).toBeNull();
    const o = drive(ma.ops.bpf_mem_cache_alloc_flags(x, ma, 'GFP_KERNEL')).value!;
    expect(o).not.toBeNull();
    expect(k.slab.live).toBe(live + 1);
    expect(hintOf(o)).toBe(c0);
    expect(len(c0.free_llist)).toBe(0);
  });

  it('GFP_KERNEL may sleep: from an atomic context it is NoSleepInAtomic', () => {
    const { k, ma } = setup();
    const irq = ctx(k, 0, 'hardirq');
    drive(ma.ops.bpf_mem_cache_alloc(irq, ma));
    expect(() => drive(ma.ops.bpf_mem_cache_alloc_flags(irq, ma, 'GFP_KERNEL'))).toThrow(/NoSleepInAtomic/);
  });

  it('bpf_mem_cache_raw_free() kfrees at once', () => {
    const { k, ma, c0 } = setup();
    const o = owned(k, c0);
    drive(ma.ops.bpf_mem_cache_raw_free(ctx(k, 0), o));
    expect(o.state).toBe('slab');
  });
});
