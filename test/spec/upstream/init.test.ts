// spec/upstream/init.ts against memalloc.c today: bpf_mem_alloc_init(),
// init_refill_work()'s watermarks, prefill, the on-demand per-CPU units.
import { describe, expect, it } from 'vitest';
import { bpfMemCacheIdx, NUM_CACHES, SIZES } from '../../../spec/memalloc/cache.ts';
import { BpfMemAllocUp, cachesOf } from '../../../spec/upstream/cache.ts';
import { bpf_mem_alloc_init, EINVAL, ENOMEM, PERCPU_SIZE } from '../../../spec/upstream/init.ts';
import { upstreamOps } from '../../../spec/upstream/ops.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';
import { len } from './helpers.ts';
import { driveSeen, watch } from '../../helpers/situations.ts';
import { UPSTREAM_SITUATIONS } from '../../../spec/upstream/situations.ts';

function wm(c: { low_watermark: number; high_watermark: number; batch: number }): number[] {
  return [c.low_watermark, c.high_watermark, c.batch];
}

describe('bpf_mem_alloc_init()', () => {
  it('fixed size: unit_size = size + 8, tgt = c, watermarks by unit size, prefilled', () => {
    const k = kernel({ cpus: 3 });
    for (const [size, expected, prefill] of [
      [56, [32, 96, 48], 4],
      [4088, [2, 6, 3], 1],
      [8184, [1, 3, 1], 1],
    ] as const) {
      const ma = new BpfMemAllocUp(upstreamOps);
      expect(bpf_mem_alloc_init(k, ma, size, false)).toBe(0);
      for (const c of cachesOf(ma.cache!)) {
        expect(c.unit_size).toBe(size + 8);
        expect(c.tgt).toBe(c);
        expect(wm(c)).toEqual(expected);
        expect(len(c.free_llist)).toBe(prefill);
        expect(c.free_cnt.v).toBe(prefill);
        expect(c.draining.v).toBe(0);
      }
    }
  });

  it('per-CPU objects: unit_size = size, percpu_size 16, low 1 / high 3 / batch 1, one object prefilled', () => {
    const k = kernel({ cpus: 2 });
    const ma = new BpfMemAllocUp(upstreamOps);
    expect(bpf_mem_alloc_init(k, ma, 64, true)).toBe(0);
    expect(ma.percpu).toBe(true);
    for (const c of cachesOf(ma.cache!)) {
      expect([c.unit_size, c.percpu_size]).toEqual([64, PERCPU_SIZE]);
      expect(wm(c)).toEqual([1, 3, 1]);
      expect(len(c.free_llist)).toBe(1);
      expect(c.free_llist.first!.pptrBytes).toBe(64);
    }
    expect(k.slab.percpuBytes).toBe(2 * 64 * 2);
  });

  it('size 0: NUM_CACHES buckets per CPU, each its own tgt', () => {
    const k = kernel({ cpus: 2 });
    const ma = new BpfMemAllocUp(upstreamOps);
    expect(bpf_mem_alloc_init(k, ma, 0, false)).toBe(0);
    const caches = cachesOf(ma.caches!);
    expect(caches).toHaveLength(2 * NUM_CACHES);
    caches.forEach((c, j) => {
      expect(c.unit_size).toBe(SIZES[j % NUM_CACHES]);
      expect(c.tgt).toBe(c);
      expect(len(c.free_llist)).toBe(c.unit_size <= 256 ? 4 : 1);
    });
  });

  it('size 0 with percpu is -EINVAL', () => {
    expect(bpf_mem_alloc_init(kernel(), new BpfMemAllocUp(upstreamOps), 0, true)).toBe(EINVAL);
  });
});

describe('bpf_mem_alloc_percpu_init() / bpf_mem_alloc_percpu_unit_init()', () => {
  it('percpu_init allocates zeroed caches; unit_init sets up one bucket on every CPU, once', () => {
    const k = kernel({ cpus: 2 });
    const ma = new BpfMemAllocUp(upstreamOps);
    const x = ctx(k);
    expect(drive(ma.ops.bpf_mem_alloc_percpu_init(x, ma)).value).toBe(0);
    expect(ma.percpu).toBe(true);
    expect(cachesOf(ma.caches!).every((c) => c.unit_size === 0)).toBe(true);
    expect(drive(ma.ops.bpf_mem_alloc_percpu_unit_init(x, ma, 100)).value).toBe(0);
    const i = bpfMemCacheIdx(100);
    for (let cpu = 0; cpu < 2; cpu++) {
      const c = cachesOf(ma.caches!)[cpu * NUM_CACHES + i]!;
      expect([c.unit_size, c.percpu_size, c.tgt === c]).toEqual([128, PERCPU_SIZE, true]);
      expect(wm(c)).toEqual([1, 3, 1]);
      expect(c.free_cnt.v).toBe(1);
    }
    const before = [k.slab.live, k.slab.percpuBytes];
    watch(k, UPSTREAM_SITUATIONS);
    // 128 shares the bucket: cpu0's unit_size is set, the loop ends
    expect(driveSeen(x, ma.ops.bpf_mem_alloc_percpu_unit_init(x, ma, 128)).value).toBe(0);
    expect([k.slab.live, k.slab.percpuBytes]).toEqual(before);
    expect(k.situations!.get('percpu-unit-already-initialised')).toBe(1);
    expect(drive(ma.ops.bpf_mem_alloc_percpu_unit_init(x, ma, 4097)).value).toBe(EINVAL);
  });

  it('percpu_init returns -ENOMEM when __alloc_percpu_gfp fails', () => {
    const k = kernel();
    const ma = new BpfMemAllocUp(upstreamOps);
    k.slab.armed.percpu = 1;
    expect(drive(ma.ops.bpf_mem_alloc_percpu_init(ctx(k), ma)).value).toBe(ENOMEM);
    expect(ma.caches).toBeNull();
  });
});
