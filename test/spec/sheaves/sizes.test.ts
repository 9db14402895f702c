// calculate_order() and calculate_sheaf_capacity() as slub.c computes
// them, for the sizes the configurations use (docs/sheaves.md).
import { describe, expect, it } from 'vitest';
import { calculateOrder, calculateSheafCapacity, orderObjects } from '../../../spec/sheaves/sizes.ts';

describe('the size arithmetic', () => {
  it.each([
    [8192, 3, 4, 4],
    [4096, 3, 8, 4],
    [2048, 3, 16, 12],
    [1024, 2, 16, 12],
    [128, 0, 32, 60],
    [96, 0, 42, 60],
  ])('%i-byte objects on 2 CPUs: order %i, %i a slab, sheaves of %i', (size, order, objects, capacity) => {
    expect(calculateOrder(size, 2)).toBe(order);
    expect(orderObjects(order, size)).toBe(objects);
    expect(calculateSheafCapacity(size)).toBe(capacity);
  });
});
