// Control: today's memalloc.c with alloc_bulk() taking its two _ttrace
// lists whole. Upstream never changed it: Hou Tao reported the ABA of
// llist_del_first() against __free_rcu()'s llist_del_all() on "bpf: Allow
// reuse from waiting_for_gp_ttrace list" (June 2023), the answer was that
// it needs one CPU far slower than the others, and the loop went in
// (04fabf00b4d3). This is a reviewer's fix: alloc_bulk() uses the
// discipline of every other consumer of those lists (__free_rcu(),
// do_call_rcu_ttrace(), drain_mem_cache(): llist_del_all(), one xchg),
// keeps what the batch needs and gives the rest to free_by_rcu_ttrace
// with llist_add() (enque_to_free()). No llist_del_first() is left on a
// list another CPU llist_del_all()s: no ABA on either list
// (docs/upstream.md, "The ABA in alloc_bulk()"). Coverage: whole takes.
import { kfunc, type Context } from '../kernel/context.ts';
import { eachSafe, LlistHead } from '../kernel/llist.ts';
import { llistDelAll } from '../kernel/llist_cmpxchg.ts';
import type { Gen } from '../kernel/types.ts';
import type { BpfMemCacheUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { UPSTREAM_SITUATIONS } from '../upstream/situations.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

/** Take list h whole; objects i..cnt-1 of the batch go to free_llist, the
 *  rest back to free_by_rcu_ttrace. Returns the new i. */
function* takeWhole(x: Context, c: BpfMemCacheUp, h: LlistHead, i: number, cnt: number): Gen<number> {
  for (const obj of eachSafe(x, yield* llistDelAll(x, h))) {
    if (i < cnt) {
      yield* c.ops.add_obj_to_free_list(x, c, obj);
      i++;
    } else yield* c.ops.enque_to_free(x, c, obj);
  }
  return i;
}

const allocBulkDelAll = kfunc('alloc_bulk', function* (x: Context, c: BpfMemCacheUp, cnt: number, atomic: boolean): Gen<void> {
  let i = yield* takeWhole(x, c, c.free_by_rcu_ttrace, 0, cnt);
  if (i >= cnt) return;
  i = yield* takeWhole(x, c, c.waiting_for_gp_ttrace, i, cnt);
  for (; i < cnt; i++) {
    const obj = yield* c.ops.__alloc(x, c, atomic ? 'GFP_NOWAIT' : 'GFP_KERNEL');
    if (!obj) break;
    yield* c.ops.add_obj_to_free_list(x, c, obj);
  }
});

const ops = { ...upstreamOps, alloc_bulk: allocBulkDelAll };
const takes = (list: string) => ({ name: `alloc_bulk-reuses:${list}`, text: `alloc_bulk() takes ${list} whole`, fns: ['alloc_bulk'], act: 'list taken whole' as const, when: (x: Context) => x.target instanceof LlistHead && x.target.field === list });

export const bpfMaUpstreamAllocBulkDelAll = definePolicy({
  ...bpfMaUpstream,
  name: 'control/bpf-ma-upstream-alloc-bulk-del-all',
  summary: "bpf-ma-upstream with alloc_bulk() taking free_by_rcu_ttrace and waiting_for_gp_ttrace whole (llist_del_all), the rest back through enque_to_free()",
  findings: undefined,
  situations: [...UPSTREAM_SITUATIONS.filter((s) => !/^(alloc_bulk-reuses|llist_del_first)/.test(s.name)), takes('free_by_rcu_ttrace'), takes('waiting_for_gp_ttrace')],
  control: {
    of: 'bpf-ma-upstream',
    why: "the ABA of alloc_bulk()'s llist_del_first() on waiting_for_gp_ttrace, fixed as a reviewer would (upstream kept the loop): alloc_bulk() takes each _ttrace list with llist_del_all() like every other consumer and gives back what it does not use",
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
