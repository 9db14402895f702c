// mm/slub.c, the size arithmetic a cache is made with: calculate_order()
// (slub_min_order 0, slub_max_order PAGE_ALLOC_COSTLY_ORDER = 3,
// min_objects 4 * (fls(nr_cpus) + 1)) and calculate_sheaf_capacity(). For
// 8 KiB objects: order 3, 4 objects a slab, sheaves of 4.
import { kmallocSizeRoundup } from '../kernel/slab.ts';

export const PAGE_SIZE = 4096;
/** struct slab_sheaf before objects[]: rcu_head (16), cache, size, node */
const SHEAF_HEADER = 32;

export function getOrder(size: number): number {
  let order = 0;
  while (PAGE_SIZE << order < size) order++;
  return order;
}
export function orderObjects(order: number, size: number): number {
  return Math.floor((PAGE_SIZE << order) / size);
}

/** calculate_order() with slub_min_order 0, slub_max_order 3 and
 *  min_objects 4 * (fls(nr_cpus) + 1) */
export function calculateOrder(size: number, cpus: number): number {
  const maxOrder = 3;
  let minObjects = 4 * (Math.floor(Math.log2(Math.max(cpus, 2))) + 1 + 1);
  const maxObjects = Math.max(orderObjects(maxOrder, size), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = getOrder(minObjects * size);
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    let order = minOrder;
    for (; order <= maxOrder; order++) {
      const slabSize = PAGE_SIZE << order;
      if (slabSize % size <= slabSize / fraction) break;
    }
    if (order <= maxOrder) return order;
  }
  return getOrder(size);
}

/** calculate_sheaf_capacity(): the capacity, rounded up so the sheaf is
 *  exactly a kmalloc size bucket. */
export function calculateSheafCapacity(size: number): number {
  const capacity = size >= PAGE_SIZE ? 4 : size >= 1024 ? 12 : size >= 256 ? 26 : 60;
  return (kmallocSizeRoundup(SHEAF_HEADER + 8 * capacity) - SHEAF_HEADER) / 8;
}

