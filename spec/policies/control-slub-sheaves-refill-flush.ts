// A control: slub-sheaves with upstream 464b1c115852 ("slab: fix memory
// leak when refill_sheaf() fails"): alloc_full_sheaf() and
// __pcs_replace_empty_main() flush a partly refilled sheaf before they
// free it. Must stay clean (docs/sheaves.md).
import { sheavesVariant } from './slub-sheaves.ts';

export const slubSheavesRefillFlush = sheavesVariant(
  'control/slub-sheaves-refill-flush',
  'slub-sheaves with the refill leak fixed (464b1c115852): a partly refilled sheaf is flushed before it is freed',
  {},
  { control: { of: 'slub-sheaves', why: 'the known finding of the snapshot, fixed as upstream fixed it' } },
);
