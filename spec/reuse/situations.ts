// The reuse flavour's coverage situations (seed 001), as predicates over
// steps where a step shows the decision (spec/memalloc/situations.ts for
// the helpers); the rest are counted by k.saw at their line in spec/reuse/.
import type { Situation } from '../policies/policy.ts';
import { LlistHead } from '../kernel/llist.ts';
import { GRACE_PERIOD_HELD_BY_READER, nmiInActive, touchedCell } from '../memalloc/situations.ts';

/** bpf_ma_get_reusable_obj() takes an object off `list` (the first step of
 *  __llist_del_first() found one). */
function reusesFrom(name: string, list: string, text: string): Situation {
  return {
    name,
    text,
    fns: ['bpf_ma_get_reusable_obj'],
    act: 'taken off list',
    when: (x) => x.target instanceof LlistHead && x.target.field === list,
  };
}

export const REUSE_SITUATIONS: readonly Situation[] = [
  nmiInActive('unit_alloc', 'an NMI program enters the allocator while unit_alloc holds active'),
  nmiInActive('wait_gp_reuse_free', 'an NMI program frees while wait_gp_reuse_free holds active (free_llist_extra path)'),
  { name: 'reuse:free-kicks-kworker', text: 'a free pushes prepare_reuse_cnt past high_watermark and queues reuse_work' },
  { name: 'reuse:kworker-on-other-cpu', text: "bpf_ma_prepare_reuse_work runs on a CPU other than the cache's (CPU offline)" },
  { name: 'reuse:batch-alloc-failed', text: 'kmalloc of bpf_reuse_batch fails: synchronize_rcu_expedited() path' },
  reusesFrom('reuse:from-reuse_ready', 'reuse_ready_head', 'alloc_bulk reuses an object from reuse_ready_head'),
  { name: 'reuse:abort-in-callback', text: 'bpf_ma_add_to_reuse_ready_or_free finds abort_reuse set and frees' },
  {
    name: 'reuse:teardown-with-reuse-in-flight',
    text: 'bpf_mem_alloc_destroy counts a reuse kworker or bpf_ma_reuse_cb in flight',
    // its atomic_read() of reuse_cb_in_progress reads a count above 0
    fns: ['bpf_mem_alloc_destroy'],
    when: (x) => {
      const c = touchedCell(x);
      return c !== undefined && c.field === 'reuse_cb_in_progress' && c.v > 0;
    },
  },
  GRACE_PERIOD_HELD_BY_READER,
];

