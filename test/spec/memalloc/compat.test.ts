// The API user policies were written against keeps working: a cache built
// with a bare refill function, local_irq_restore() called without yield*.
import { describe, expect, it } from 'vitest';
import { BpfMemCache } from '../../../spec/memalloc/cache.ts';
import { bpfMemRefill } from '../../../spec/memalloc/refill.ts';
import { memallocOps, type MemallocOps } from '../../../spec/memalloc/ops.ts';
import { localIrqRestore, localIrqSave } from '../../../spec/kernel/irqflags.ts';
import { ctx, kernel } from '../../helpers/boot.ts';

describe('API compatibility', () => {
  it('a BpfMemCache built with a refill function gets seed 004 ops with that handler', () => {
    let called = 0;
    const refill = function* (x: Parameters<typeof bpfMemRefill>[0], c: Parameters<typeof bpfMemRefill>[1]) {
      called++;
      yield* bpfMemRefill(x, c);
    };
    const c = new BpfMemCache<MemallocOps>('c', 0, 8192, 0, refill);
    expect(c.ops.unit_alloc).toBe(memallocOps().unit_alloc);
    expect(c.ops.bpf_mem_refill).toBe(refill);
    const k = kernel();
    for (const _ of c.refill_work.fn(ctx(k))) void _;
    expect(called).toBe(1);
  });
  it('localIrqRestore() called without yield* still restores the flag', () => {
    const k = kernel();
    const x = ctx(k);
    const flags = localIrqSave(x);
    expect(k.cpus[0]!.irqsOff).toBe(true);
    localIrqRestore(x, flags);
    expect(k.cpus[0]!.irqsOff).toBe(false);
  });
});
