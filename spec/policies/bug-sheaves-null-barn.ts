// Before upstream fd6db5886792: __pcs_replace_empty_main() uses get_barn()
// without checking it; on a CPU of a memoryless node (no kmem_cache_node,
// so no barn) the barn is NULL. Configuration `wide`: 4 CPUs, cpu3 alone
// on node2, which has no memory (spec/kernel/numa.ts).
import type { NodeBarn } from '../sheaves/barn.ts';
import { getBarn } from '../sheaves/barn.ts';
import { sheavesVariant } from './slub-sheaves.ts';

export const sheavesNullBarn = sheavesVariant(
  'bug/sheaves-null-barn',
  '__pcs_replace_empty_main() uses get_barn() unchecked: NULL on a memoryless node (fixed by fd6db5886792)',
  { replace_empty_main_barn: (x, s) => getBarn(x, s) as NodeBarn },
  { bug: { invariants: ['NoKernelWarn'], why: 'a CPU on a memoryless node with an empty main sheaf dereferences the NULL barn', config: 'wide' } },
);
