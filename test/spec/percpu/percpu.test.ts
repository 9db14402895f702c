import { describe, expect, it } from 'vitest';
import { NUM_CACHES, bpfMemCacheIdx } from '../../../spec/memalloc/cache.ts';
import { bpfMemAllocPercpuInit, bpfMemAllocPercpuUnitInit, EINVAL, ENOMEM, PERCPU_SIZE, unitReady } from '../../../spec/percpu/init.ts';
import { bpfMemAllocPercpu, bpfMemFreePercpu, percpuMaDestroy } from '../../../spec/percpu/unit.ts';
import { bpfProgLoad, Verifier } from '../../../spec/percpu/verifier.ts';
import { runnable, start, step } from '../../../spec/kernel/sched.ts';
import { BpfMemAlloc } from '../../../spec/memalloc/cache.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';
import { watch } from '../../helpers/situations.ts';
import { PERCPU_SITUATIONS } from '../../../spec/percpu/situations.ts';

describe('bpf_mem_alloc_percpu_init()', () => {
  it('allocates zeroed caches for every bucket on every CPU and sets ma->percpu', () => {
    const k = kernel({ cpus: 2 });
    const ma = new BpfMemAlloc();
    expect(drive(bpfMemAllocPercpuInit(ctx(k), ma)).value).toBe(0);
    expect(ma.percpu).toBe(true);
    expect(ma.caches!.caches).toHaveLength(2 * NUM_CACHES);
    expect(ma.caches!.caches.every((c) => c.unit_size === 0)).toBe(true);
    expect(k.slab.percpuBytes).toBe(0);
    expect(k.slab.structs.has(ma.caches!)).toBe(true);
  });
  it('returns -ENOMEM when __alloc_percpu_gfp fails', () => {
    const k = kernel();
    const ma = new BpfMemAlloc();
    k.slab.armed.percpu = 1;
    expect(drive(bpfMemAllocPercpuInit(ctx(k), ma)).value).toBe(ENOMEM);
    expect(ma.caches).toBeNull();
  });
});

describe('bpf_mem_alloc_percpu_unit_init()', () => {
  it('sets up only the requested bucket, prefilled on every CPU with percpu units', () => {
    const k = kernel({ cpus: 4 });
    const ma = new BpfMemAlloc();
    drive(bpfMemAllocPercpuInit(ctx(k), ma));
    expect(drive(bpfMemAllocPercpuUnitInit(ctx(k), ma, 64)).value).toBe(0);
    const i = bpfMemCacheIdx(64);
    for (let cpu = 0; cpu < 4; cpu++) {
      for (let j = 0; j < NUM_CACHES; j++) expect(unitReady(ma, cpu, j)).toBe(j === i);
      const c = ma.caches!.caches[cpu * NUM_CACHES + i]!;
      expect([c.unit_size, c.percpu_size, c.free_cnt.v]).toEqual([64, PERCPU_SIZE, 4]);
    }
    // 4 objects per CPU, each a 64-byte unit on each of the 4 CPUs
    expect(k.slab.live).toBe(16);
    expect(k.slab.percpuBytes).toBe(4 * 64 * 4 * 4);
  });
  it('does nothing the second time for the same size (cpu0 unit_size is set)', () => {
    const k = kernel({ cpus: 2 });
    const ma = new BpfMemAlloc();
    drive(bpfMemAllocPercpuInit(ctx(k), ma));
    drive(bpfMemAllocPercpuUnitInit(ctx(k), ma, 100));
    const before = [k.slab.live, k.slab.percpuBytes];
    // 100 and 128 share the 128-byte bucket
    drive(bpfMemAllocPercpuUnitInit(ctx(k), ma, 128));
    expect([k.slab.live, k.slab.percpuBytes]).toEqual(before);
  });
  it('rejects sizes without a bucket', () => {
    const k = kernel();
    const ma = new BpfMemAlloc();
    drive(bpfMemAllocPercpuInit(ctx(k), ma));
    expect(drive(bpfMemAllocPercpuUnitInit(ctx(k), ma, 4097)).value).toBe(EINVAL);
    expect(drive(bpfMemAllocPercpuUnitInit(ctx(k), ma, 0)).value).toBe(EINVAL);
  });
});

describe('bpf_mem_alloc()/bpf_mem_free() on the percpu allocator', () => {
  it('use bucket bpf_mem_cache_idx(size) without LLIST_NODE_SZ, and free by the unit size', () => {
    const k = kernel({ cpus: 2 });
    const ma = new BpfMemAlloc();
    drive(bpfMemAllocPercpuInit(ctx(k), ma));
    drive(bpfMemAllocPercpuUnitInit(ctx(k), ma, 64));
    const x = ctx(k, 1);
    const obj = drive(bpfMemAllocPercpu(x, ma, 64)).value!;
    expect(obj).not.toBeNull();
    expect(obj.pptrBytes).toBe(64);
    // a kmalloc'd llist_node + pointer: ksize() could not name the bucket
    expect(obj.size).toBe(PERCPU_SIZE);
    const c = ma.caches!.caches[1 * NUM_CACHES + bpfMemCacheIdx(64)]!;
    expect(c.free_cnt.v).toBe(3);
    drive(bpfMemFreePercpu(x, ma, obj));
    expect(c.free_cnt.v).toBe(4);
  });
  it('warns when a program reaches a bucket that was never set up', () => {
    const k = kernel();
    const ma = new BpfMemAlloc();
    drive(bpfMemAllocPercpuInit(ctx(k), ma));
    drive(bpfMemAllocPercpuUnitInit(ctx(k), ma, 64));
    // 64 + LLIST_NODE_SZ would be the 96 bucket, which nobody set up
    expect(() => drive(bpfMemAllocPercpu(ctx(k), ma, 72))).toThrow(/never set up/);
  });
});

describe('racing program loads (check_kfunc_call under bpf_percpu_ma_lock)', () => {
  it('two CPUs loading the same size set the allocator and the unit up once', () => {
    const k = kernel({ cpus: 2 });
    watch(k, PERCPU_SITUATIONS);
    const v = new Verifier(k);
    const a = start(k, 0, 'task', 'load0', (y) => bpfProgLoad(y, v, 64));
    const b = start(k, 1, 'task', 'load1', (y) => bpfProgLoad(y, v, 64));
    // lock-step: both read bpf_global_percpu_ma_set == 0 before either sets it
    for (let i = 0; i < 10_000 && !(a.done && b.done); i++) {
      if (!a.done) step(k, a);
      if (!b.done) step(k, b);
    }
    expect(a.done && b.done).toBe(true);
    expect(v.loaded.has(bpfMemCacheIdx(64))).toBe(true);
    expect(k.situations!.get('percpu-ma-set-by-racing-load')).toBe(1);
    expect(k.situations!.get('percpu-unit-already-initialised')).toBe(1);
    expect(k.slab.live).toBe(8);
    expect(k.slab.percpuBytes).toBe(4 * 64 * 2 * 2);
  });
  it('a load that preempts the mutex holder on its CPU sleeps and lets the holder finish', () => {
    const k = kernel({ cpus: 1 });
    const v = new Verifier(k);
    const a = start(k, 0, 'task', 'load0', (y) => bpfProgLoad(y, v, 64));
    step(k, a); // load bpf_global_percpu_ma_set
    step(k, a); // mutex_lock
    expect(v.bpf_percpu_ma_lock.holder).toBe(a);
    const b = start(k, 0, 'task', 'load1', (y) => bpfProgLoad(y, v, 512));
    for (let i = 0; i < 10_000 && !(a.done && b.done); i++) {
      const x = runnable(k, 0);
      if (!x) break;
      step(k, x);
    }
    expect(a.done && b.done).toBe(true);
    expect([...v.loaded].sort()).toEqual([bpfMemCacheIdx(64), bpfMemCacheIdx(512)].sort());
    expect(k.slab.percpuBytes).toBe(4 * 64 + 1 * 512);
  });
  it('teardown frees every object, unit and cache', () => {
    const k = kernel({ cpus: 2 });
    const v = new Verifier(k);
    drive(bpfProgLoad(ctx(k), v, 4096));
    drive(bpfProgLoad(ctx(k), v, 16));
    expect(k.slab.percpuBytes).toBe((1 * 4096 + 4 * 16) * 2 * 2);
    drive(percpuMaDestroy(ctx(k), v));
    expect([k.slab.live, k.slab.percpuBytes, k.slab.structs.size]).toEqual([0, 0, 0]);
  });
});
