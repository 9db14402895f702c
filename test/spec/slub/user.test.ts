import { describe, expect, it } from 'vitest';
import { invokeCallback } from '../../../spec/kernel/rcupdate.ts';
import { kmemCacheDestroy } from '../../../spec/slub/free.ts';
import { KmemCache, kmemCacheSetupPercpuArray } from '../../../spec/slub/pca.ts';
import { elemFreeRcu, rcuPending } from '../../../spec/slub/user.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

describe('the map frees elements after RCU tasks trace and normal grace periods', () => {
  it('keeps the element on the pending holder until the second callback frees it into the array', () => {
    const k = kernel({ cpus: 1 });
    const s = new KmemCache(64);
    drive(kmemCacheSetupPercpuArray(ctx(k), s, 4));
    const pending = rcuPending(k);
    const obj = drive(k.slab.kmalloc(null, 64)).value!;
    drive(elemFreeRcu(ctx(k), s, pending, obj));
    expect(pending.head()).toBe(obj);
    for (const f of ['rcu_tasks_trace', 'rcu'] as const) {
      expect(k.rcu.canEndGp(f)).toBe(true);
      k.rcu.endGp(f);
      drive(invokeCallback(ctx(k, 0, 'softirq'), k.rcu.takeReady(0)!));
    }
    expect(pending.head()).toBeNull();
    expect(s.cpu_array!.pcas[0]!.objects[0]).toBe(obj);
    expect(obj.state).toBe('live');
  });
  it('a callback that runs after kmem_cache_destroy() touches a freed cache', () => {
    const k = kernel({ cpus: 1, rcuTraceImpliesRcuGp: true });
    const s = new KmemCache(64);
    drive(kmemCacheSetupPercpuArray(ctx(k), s, 4));
    const pending = rcuPending(k);
    drive(elemFreeRcu(ctx(k), s, pending, drive(k.slab.kmalloc(null, 64)).value!));
    drive(kmemCacheDestroy(ctx(k), s));
    k.rcu.endGp('rcu_tasks_trace');
    expect(() => drive(invokeCallback(ctx(k, 0, 'softirq'), k.rcu.takeReady(0)!))).toThrow(/TeardownBarriers/);
  });
});
