// SLUB's functions that a variant may replace, as an ops table (the way
// spec/memalloc/ops.ts carries memalloc.c's): not a struct of the kernel's,
// but the cache carries it so that a zoo variant is one entry,
// `new KmemCache(size, { ...slubOps(), entry: mine })`.
import type { Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { refillPca, refillPcaPutBack } from './alloc.ts';
import type { KmemCache } from './pca.ts';

export interface SlubOps {
  /** refill_pca(s, count, gfp) (gfp follows the context): true when it
   *  refilled; alloc_from_pca() and kmem_cache_prefill_percpu_array()
   *  call through it */
  refill_pca(x: Context, s: KmemCache, count: number): Gen<boolean>;
  /** seam: what refill_pca() does with the batch it holds when
   *  pca_spin_trylock() fails */
  refill_pca_put_back(x: Context, s: KmemCache, objects: Obj[]): Gen<void>;
}

let table: SlubOps | null = null;

/** mm/slub.c with seed 002 and the fixes slub-pca holds (built at first
 *  use: the functions come from modules that import this one's users). */
export function slubOps(): SlubOps {
  return (table ??= { refill_pca: refillPca, refill_pca_put_back: refillPcaPutBack });
}
