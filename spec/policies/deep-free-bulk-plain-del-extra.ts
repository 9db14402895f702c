// Deep benchmark subject (cross-CPU window class; not in the zoo, see
// bench/deep.ts): upstream free_bulk() drains free_llist_extra with the
// plain __llist_del_all() (a load of head->first, then a store of NULL)
// instead of the atomic llist_del_all(). free_llist_extra is the list an
// NMI program's unit_free() adds to when it finds 'active' taken: an NMI
// add between the load and the store is lost (Conservation). free_bulk()
// runs only once free_llist is above high_watermark, after a batch of
// frees, and the list is non-empty only after an NMI found 'active' taken:
// several commands to set up, then a two-step window.
import { kfunc, type Context } from '../kernel/context.ts';
import { __llistDelAll, __llistDelFirst, eachSafe } from '../kernel/llist.ts';
import { plainAdd } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import type { Gen } from '../kernel/types.ts';
import { loadTgt, type BpfMemCacheUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const freeBulkPlainDelExtra = kfunc('free_bulk', function* (x: Context, c: BpfMemCacheUp): Gen<void> {
  const tgt = yield* loadTgt(x, c);
  WARN_ON_ONCE(x, tgt.unit_size !== c.unit_size, 'WARN_ON_ONCE(tgt->unit_size != c->unit_size)');
  let cnt: number;
  do {
    const flags = yield* c.ops.inc_active(x, c);
    const llnode = yield* __llistDelFirst(x, c.free_llist);
    if (llnode) cnt = yield* plainAdd(x, c.free_cnt, -1);
    else cnt = 0;
    yield* c.ops.dec_active(x, c, flags);
    if (llnode) yield* c.ops.enque_to_free(x, tgt, llnode);
  } while (cnt > ((c.high_watermark + c.low_watermark) >> 1));
  // the mistake: __llist_del_all(&c->free_llist_extra), outside 'active'
  for (const llnode of eachSafe(x, yield* __llistDelAll(x, c.free_llist_extra))) yield* c.ops.enque_to_free(x, tgt, llnode);
  yield* c.ops.do_call_rcu_ttrace(x, tgt);
});

const ops = { ...upstreamOps, free_bulk: freeBulkPlainDelExtra };

export const deepFreeBulkPlainDelExtra = definePolicy({
  ...bpfMaUpstream,
  name: 'deep/free-bulk-plain-del-extra',
  summary: "free_bulk() drains free_llist_extra with __llist_del_all(): an NMI's add between its load and store is lost",
  findings: undefined,
  bug: {
    invariants: ['Conservation', 'NeverOnTwoLists', 'NoLeakAtTeardown'],
    why: 'an NMI unit_free() that found active taken adds to free_llist_extra between the plain load of head->first and the store of NULL',
    config: 'rt',
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
