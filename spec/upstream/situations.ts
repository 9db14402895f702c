// Upstream memalloc.c's coverage situations: memalloc.c's predicates where
// a step shows the state (spec/memalloc/situations.ts), the rest counted by
// k.saw at their line in spec/upstream/.
import {
  GRACE_PERIOD_HELD_BY_READER,
  SLEEPING_READER_SITUATIONS,
  irqWorkWhileOtherCpuFrees,
  nmiInActive,
  rcuCallbackRacingFree,
  TEARDOWN_WITH_CALLBACKS_IN_FLIGHT,
} from '../memalloc/situations.ts';
import type { ObjAct } from '../kernel/types.ts';
import type { Situation } from '../policies/policy.ts';
import { LlistHead } from '../kernel/llist.ts';

/** where a program's free puts its object on a list */
const FREES = ['unit_free', 'unit_free_rcu'];

/** A step of fn does act to an object of the list named `list`. */
function listStep(name: string, text: string, fn: string, act: ObjAct, list: string): Situation {
  return { name, text, fns: [fn], act, when: (x) => x.target instanceof LlistHead && x.target.field === list };
}

export const UPSTREAM_SITUATIONS: readonly Situation[] = [
  nmiInActive('unit_alloc', 'an NMI program enters the allocator while unit_alloc holds active'),
  nmiInActive('unit_free', 'an NMI program enters the allocator while unit_free holds active'),
  nmiInActive('add_obj_to_free_list', 'an NMI program enters the allocator while alloc_bulk (irq_work) holds active'),
  nmiInActive('free_bulk', 'an NMI program enters the allocator while free_bulk (irq_work) holds active'),
  { name: 'free-of-other-cpu-object', text: 'a program frees an object another CPU allocated (c->tgt names another CPU\'s cache)' },
  { name: 'free_bulk-into-other-cpu-tgt', text: "free_bulk() sends trimmed objects to another CPU's free_by_rcu_ttrace" },
  listStep('alloc_bulk-reuses:free_by_rcu_ttrace', 'alloc_bulk() takes an object back from free_by_rcu_ttrace', 'alloc_bulk', 'taken off list', 'free_by_rcu_ttrace'),
  listStep('alloc_bulk-reuses:waiting_for_gp_ttrace', 'alloc_bulk() takes an object back from waiting_for_gp_ttrace', 'alloc_bulk', 'taken off list', 'waiting_for_gp_ttrace'),
  { name: 'llist_del_first-raced-other-cpu', text: "another CPU wrote a _ttrace list between llist_del_first()'s load of head->first and its cmpxchg" },
  listStep('free_rcu-into-free_llist_extra_rcu', 'bpf_mem_free_rcu() while active is taken (NMI): free_llist_extra_rcu', 'unit_free_rcu', 'put on list', 'free_llist_extra_rcu'),
  listStep('check_free_by_rcu-drains-free_llist_extra_rcu', 'check_free_by_rcu() moves free_llist_extra_rcu to free_by_rcu', 'check_free_by_rcu', 'list taken whole', 'free_llist_extra_rcu'),
  { name: '__free_by_rcu-into-other-cpu-tgt', text: "__free_by_rcu() hands objects to another CPU's cache after a normal grace period" },
  { name: 'draining-set-while-callbacks-in-flight', text: 'bpf_mem_alloc_destroy() sets draining while a cache has callbacks in flight' },
  { name: 'do_call_rcu_ttrace-draining:in_progress', text: 'do_call_rcu_ttrace() on a draining cache with a callback in flight frees at once' },
  { name: 'do_call_rcu_ttrace-draining:free_now', text: 'do_call_rcu_ttrace() on a draining cache calls __free_rcu() itself' },
  irqWorkWhileOtherCpuFrees(FREES),
  ...rcuCallbackRacingFree(FREES),
  GRACE_PERIOD_HELD_BY_READER,
  TEARDOWN_WITH_CALLBACKS_IN_FLIGHT,
  ...SLEEPING_READER_SITUATIONS,
];
