// Sequential behaviour of wait_gp_reuse_free() (spec/reuse/free.ts).
import { describe, expect, it } from 'vitest';
import { waitGpReuseFree } from '../../../spec/reuse/free.ts';
import { ctx, drive } from '../../helpers/boot.ts';
import { kworker, names, obj, setup } from './helpers.ts';

describe('wait_gp_reuse_free()', () => {
  it('queues on prepare_reuse_head under reuse_lock; the first object is the tail', () => {
    const { k, c, r } = setup();
    const [a, b] = [obj(k), obj(k)];
    const x = ctx(k, 0);
    drive(waitGpReuseFree(x, c, a));
    drive(waitGpReuseFree(x, c, b));
    expect(names(r.prepare_reuse_head)).toEqual([b.name, a.name]);
    expect(r.prepare_reuse_tail).toBe(a);
    expect(r.prepare_reuse_cnt.v).toBe(2);
    expect(r.reuse_lock.holder).toBeNull();
    expect(c.active.v).toBe(0);
    expect(k.cpus[0]!.irqsOff).toBe(false);
    // nothing went to free_llist: no immediate reuse
    expect(names(c.free_llist)).not.toContain(a.name);
  });

  it('the free that passes high_watermark queues reuse_work once and counts it in reuse_cb_in_progress', () => {
    const { k, c, r } = setup();
    const x = ctx(k, 0);
    expect(c.high_watermark).toBe(3);
    for (let i = 0; i < 3; i++) drive(waitGpReuseFree(x, c, obj(k)));
    expect(r.reuse_work.pending).toBe(false);
    drive(waitGpReuseFree(x, c, obj(k)));
    expect(r.reuse_work.pending).toBe(true);
    expect(r.reuse_work.cpu).toBe(0);
    expect(r.reuse_cb_in_progress.v).toBe(1);
    expect(r.prepare_reuse_cnt.v).toBe(0); // zeroed early
  });

  it('does not count a second time while the work is still pending', () => {
    const { k, c, r } = setup();
    const x = ctx(k, 0);
    for (let i = 0; i < 8; i++) drive(waitGpReuseFree(x, c, obj(k)));
    expect(r.reuse_work.pending).toBe(true);
    expect(r.reuse_cb_in_progress.v).toBe(1);
    expect(names(r.prepare_reuse_head)).toHaveLength(8);
  });

  it("an NMI that finds 'active' taken uses free_llist_extra and leaves reuse_lock alone", () => {
    const { k, c, r } = setup();
    const a = obj(k);
    c.active.v = 1; // the interrupted context is inside the allocator
    const { steps } = drive(waitGpReuseFree(ctx(k, 0, 'nmi'), c, a));
    expect(names(c.free_llist_extra)).toEqual([a.name]);
    expect(r.prepare_reuse_head.first).toBeNull();
    expect(steps.some((s) => s.includes('reuse_lock'))).toBe(false);
    expect(c.active.v).toBe(1);
  });
});

// the reuse flavour's memory bound (ReuseCache.idle: MemoryBound)
describe('prepare_reuse_head at an idle point', () => {
  const judge = (r: ReturnType<typeof setup>['r']): string[] => {
    const out: string[] = [];
    r.idle((inv) => out.push(inv));
    return out;
  };
  it('high_watermark frees wait for the next one: within the bound', () => {
    const { k, c, r } = setup();
    for (let i = 0; i < 3; i++) drive(waitGpReuseFree(ctx(k, 0), c, obj(k)));
    expect(names(r.prepare_reuse_head)).toHaveLength(3);
    expect(judge(r)).toEqual([]);
  });
  it('the kworker takes what passed high_watermark: within the bound again', () => {
    const { k, c, r } = setup();
    for (let i = 0; i < 4; i++) drive(waitGpReuseFree(ctx(k, 0), c, obj(k)));
    kworker(k, c);
    expect(names(r.prepare_reuse_head)).toEqual([]);
    expect(judge(r)).toEqual([]);
  });
  it('more than high_watermark left once every kworker ran (a free path that never queues reuse_work) breaks it', () => {
    const { k, c, r } = setup();
    for (let i = 0; i < 4; i++) drive(waitGpReuseFree(ctx(k, 0), c, obj(k)));
    // the kworker never runs: what a free path that never queues it leaves
    expect(judge(r)).toEqual(['MemoryBound']);
  });
});
