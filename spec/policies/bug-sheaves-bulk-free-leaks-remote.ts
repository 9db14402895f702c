// Before upstream cbcff934fa7d: free_to_pcs_bulk() returns once its last
// batch went into the main sheaf, without `if (remote_nr) goto
// flush_remote;`: the remote and pfmemalloc objects it set apart are lost.
import type { Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { KmemCache } from '../sheaves/pcs.ts';
import { sheavesVariant } from './slub-sheaves.ts';

function* returnsWithoutFlushingRemote(x: Context, s: KmemCache, remote: Obj[]): Gen<void> {}

export const sheavesBulkFreeLeaksRemote = sheavesVariant(
  'bug/sheaves-bulk-free-leaks-remote',
  'free_to_pcs_bulk() returns without flushing its batch of remote objects (fixed by cbcff934fa7d)',
  { free_to_pcs_bulk_tail: returnsWithoutFlushingRemote },
  { bug: { invariants: ['Conservation', 'NoLeakAtTeardown', 'DestroyLeavesNothing'], why: 'a bulk free of local and remote objects puts the local ones in main and returns: the remote batch is freed nowhere' } },
);
