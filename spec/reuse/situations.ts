// The reuse flavour's coverage situations (seed 001), as predicates over
// steps (spec/memalloc/situations.ts and spec/kernel/situations.ts for the
// helpers).
import type { Situation } from '../policies/policy.ts';
import { LlistHead } from '../kernel/llist.ts';
import { Cell } from '../kernel/atomic.ts';
import type { Obj } from '../kernel/obj.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { GRACE_PERIOD_HELD_BY_READER, nmiInActive, TEARDOWN_WITH_CALLBACKS_IN_FLIGHT, touchedCell } from '../memalloc/situations.ts';
import { contextOf, KWORKER_ON_OTHER_CPU } from '../kernel/situations.ts';

/** The kworker's function: bpf_ma_prepare_reuse_work(), or its name in the
 *  free-after-grace-period flavour. */
const WORK_FNS = ['bpf_ma_prepare_reuse_work', 'bpf_ma_prepare_free_work'];

/** The length of the chain that starts at o. */
function chainLength(o: Obj | null): number {
  let n = 0;
  // (bounded: a corrupt list may be a cycle)
  for (; o !== null && n < 1_000_000; o = o.next) n++;
  return n;
}

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
  {
    name: 'reuse:free-kicks-kworker',
    text: 'a free pushes prepare_reuse_cnt past high_watermark and queues reuse_work',
    // the count went past high_watermark: it is zeroed (plainAdd()'s store
    // of the count + 1 leaves it above 0)
    fns: ['wait_gp_reuse_free'],
    when: (x) => x.op === 'store' && x.target instanceof Cell && x.target.field === 'prepare_reuse_cnt' && x.target.v === 0,
  },
  {
    name: 'reuse:kworker-on-other-cpu',
    text: "bpf_ma_prepare_reuse_work runs on a CPU other than the cache's (CPU offline)",
    first: true,
    when: (x, k) => {
      const w = contextOf(x, k)?.work;
      return w !== undefined && w !== null && w.field === 'reuse_work' && (w.owner as BpfMemCache).cpu !== x.cpu;
    },
  },
  {
    name: 'reuse:batch-alloc-failed',
    text: 'kmalloc of bpf_reuse_batch fails: synchronize_rcu_expedited() path',
    fns: WORK_FNS,
    when: (x) => x.op === 'synchronize_rcu_expedited',
  },
  reusesFrom('reuse:from-reuse_ready', 'reuse_ready_head', 'alloc_bulk reuses an object from reuse_ready_head'),
  {
    name: 'reuse:abort-in-callback',
    text: 'bpf_ma_add_to_reuse_ready_or_free finds abort_reuse set and frees',
    // it calls free_all() (only then)
    entering: ['free_all'],
    when: (x) => x.fns[x.fns.lastIndexOf('free_all') - 1] === 'bpf_ma_add_to_reuse_ready_or_free',
  },
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
  // counted, not expected of every run
  {
    name: 'reuse:nmi-free-to-free_llist_extra',
    text: "wait_gp_reuse_free() found 'active' taken (an NMI) and puts the object on free_llist_extra",
    fns: ['wait_gp_reuse_free'],
    act: 'put on list',
    optional: true,
    when: (x) => x.target instanceof LlistHead && x.target.field === 'free_llist_extra',
  },
  {
    name: 'reuse:free_reusable_cb-queued',
    text: 'the kworker found objects to free and queues bpf_ma_free_reusable_cb with call_rcu_tasks_trace()',
    fns: WORK_FNS,
    optional: true,
    when: (x) => x.op === 'call_rcu_tasks_trace',
  },
  {
    name: 'reuse:kworker-moves-free_llist_extra',
    text: "the kworker moves free_llist_extra's objects into its batch (counted per object)",
    fns: WORK_FNS,
    act: 'list taken whole',
    optional: true,
    when: (x) => (x.target instanceof LlistHead && x.target.field === 'free_llist_extra' ? chainLength(x.obj) : 0),
  },
  { ...TEARDOWN_WITH_CALLBACKS_IN_FLIGHT, optional: true },
  KWORKER_ON_OTHER_CPU,
];

