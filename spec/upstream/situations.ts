// Upstream memalloc.c's coverage situations, as predicates over steps:
// memalloc.c's (spec/memalloc/situations.ts), llist_del_first()'s and the
// kworker's (spec/kernel/situations.ts), and upstream's own below.
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
import { Cell } from '../kernel/atomic.ts';
import { Field } from '../kernel/fields.ts';
import { IrqWork } from '../kernel/irq_work.ts';
import type { StepView } from '../kernel/events.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { KWORKER_ON_OTHER_CPU, llistDelFirstSituations } from '../kernel/situations.ts';
import { BpfMemCacheUp } from './cache.ts';
import { PERCPU_UNIT_ALREADY_INITIALISED } from '../percpu/situations.ts';

/** where a program's free puts its object on a list */
const FREES = ['unit_free', 'unit_free_rcu'];

/** A step of fn does act to an object of the list named `list`. */
function listStep(name: string, text: string, fn: string, act: ObjAct, list: string): Situation {
  return { name, text, fns: [fn], act, when: (x) => x.target instanceof LlistHead && x.target.field === list };
}

/** The cache whose c->tgt the step loaded or stored (loadTgt(), rememberTgt()). */
function tgtOf(x: StepView): BpfMemCacheUp | null {
  const t = x.target;
  return t instanceof Field && t.field === 'tgt' && t.owner instanceof BpfMemCacheUp ? t.owner : null;
}

/** The step read `field` of a cache and found it 1 (a load of c->draining). */
function cellIs(x: StepView, field: string, v: number): boolean {
  return x.target instanceof Cell && x.target.field === field && x.target.v === v;
}

// per context: what its last step in a function found, of the kernel asked
// last (do_call_rcu_ttrace()'s xchg; __free_by_rcu()'s c->tgt)
let notesOf: Kernel | null = null;
const xchgFound = new Map<number, number>();
const otherTgt = new Map<number, boolean>();
function notes(k: Kernel): void {
  if (notesOf === k) return;
  notesOf = k;
  xchgFound.clear();
  otherTgt.clear();
}

/** do_call_rcu_ttrace()'s load of c->draining found it set: after its
 *  atomic_xchg(&c->call_rcu_ttrace_in_progress, 1) found 1 (`in_progress`,
 *  it frees free_by_rcu_ttrace at once) or 0 (`free_now`, it calls
 *  __free_rcu() itself). */
function doCallRcuTtraceDraining(name: string, text: string, inProgress: boolean): Situation {
  return {
    name,
    text,
    fns: ['do_call_rcu_ttrace'],
    when: (x, k) => {
      notes(k);
      if (x.op === 'atomic_xchg' && x.target instanceof Cell && x.target.field === 'call_rcu_ttrace_in_progress') {
        // both situations ask: the second finds the same
        xchgFound.set(x.id, x.old);
        return false;
      }
      return x.op === 'load' && cellIs(x, 'draining', 1) && (xchgFound.get(x.id) === 1) === inProgress;
    },
  };
}

export const UPSTREAM_SITUATIONS: readonly Situation[] = [
  nmiInActive('unit_alloc', 'an NMI program enters the allocator while unit_alloc holds active'),
  nmiInActive('unit_free', 'an NMI program enters the allocator while unit_free holds active'),
  nmiInActive('add_obj_to_free_list', 'an NMI program enters the allocator while alloc_bulk (irq_work) holds active'),
  nmiInActive('free_bulk', 'an NMI program enters the allocator while free_bulk (irq_work) holds active'),
  {
    name: 'free-of-other-cpu-object',
    text: 'a program frees an object another CPU allocated (c->tgt names another CPU\'s cache)',
    // rememberTgt(): c->tgt = the object's hint
    fns: FREES,
    when: (x) => {
      const c = tgtOf(x);
      return c !== null && c.tgt.cpu !== c.cpu;
    },
  },
  {
    name: 'free_bulk-into-other-cpu-tgt',
    text: "free_bulk() sends trimmed objects to another CPU's free_by_rcu_ttrace",
    // its first step: tgt = c->tgt
    fns: ['free_bulk'],
    when: (x) => {
      const c = tgtOf(x);
      return c !== null && c.tgt !== c;
    },
  },
  listStep('alloc_bulk-reuses:free_by_rcu_ttrace', 'alloc_bulk() takes an object back from free_by_rcu_ttrace', 'alloc_bulk', 'taken off list', 'free_by_rcu_ttrace'),
  listStep('alloc_bulk-reuses:waiting_for_gp_ttrace', 'alloc_bulk() takes an object back from waiting_for_gp_ttrace', 'alloc_bulk', 'taken off list', 'waiting_for_gp_ttrace'),
  ...llistDelFirstSituations(['alloc_bulk'], ['free_by_rcu_ttrace', 'waiting_for_gp_ttrace'], ['llist_del_first-raced-other-cpu']),
  listStep('free_rcu-into-free_llist_extra_rcu', 'bpf_mem_free_rcu() while active is taken (NMI): free_llist_extra_rcu', 'unit_free_rcu', 'put on list', 'free_llist_extra_rcu'),
  listStep('check_free_by_rcu-drains-free_llist_extra_rcu', 'check_free_by_rcu() moves free_llist_extra_rcu to free_by_rcu', 'check_free_by_rcu', 'list taken whole', 'free_llist_extra_rcu'),
  {
    name: '__free_by_rcu-into-other-cpu-tgt',
    text: "__free_by_rcu() hands objects to another CPU's cache after a normal grace period",
    // tgt = c->tgt (its first step), then llist_add_batch() onto tgt's
    // free_by_rcu_ttrace when waiting_for_gp held objects
    fns: ['__free_by_rcu'],
    when: (x, k) => {
      notes(k);
      const c = tgtOf(x);
      if (c !== null) otherTgt.set(x.id, c.tgt !== c);
      else if (x.op === 'llist_add_batch') return otherTgt.get(x.id) === true;
      return false;
    },
  },
  {
    name: 'draining-set-while-callbacks-in-flight',
    text: 'bpf_mem_alloc_destroy() sets draining while a cache has callbacks in flight',
    // the step after WRITE_ONCE(c->draining, true): irq_work_sync(&c->refill_work)
    fns: ['bpf_mem_alloc_destroy'],
    when: (x) => {
      const w = x.target;
      if (x.op !== 'irq_work_sync' || !(w instanceof IrqWork) || !(w.owner instanceof BpfMemCacheUp)) return false;
      const c = w.owner;
      return c.draining.v === 1 && (c.call_rcu_ttrace_in_progress.v !== 0 || c.call_rcu_in_progress.v !== 0);
    },
  },
  doCallRcuTtraceDraining('do_call_rcu_ttrace-draining:in_progress', 'do_call_rcu_ttrace() on a draining cache with a callback in flight frees at once', true),
  doCallRcuTtraceDraining('do_call_rcu_ttrace-draining:free_now', 'do_call_rcu_ttrace() on a draining cache calls __free_rcu() itself', false),
  irqWorkWhileOtherCpuFrees(FREES),
  ...rcuCallbackRacingFree(FREES),
  GRACE_PERIOD_HELD_BY_READER,
  TEARDOWN_WITH_CALLBACKS_IN_FLIGHT,
  ...SLEEPING_READER_SITUATIONS,
  // counted, not expected of every run
  {
    name: 'check_free_by_rcu-while-call_rcu_in_progress',
    text: 'check_free_by_rcu() finds a normal grace period already in flight (atomic_xchg(&c->call_rcu_in_progress, 1) was 1)',
    fns: ['check_free_by_rcu'],
    optional: true,
    when: (x) => x.op === 'atomic_xchg' && x.target instanceof Cell && x.target.field === 'call_rcu_in_progress' && x.old === 1,
  },
  {
    name: 'check_free_by_rcu-draining',
    text: 'check_free_by_rcu() on a draining cache frees waiting_for_gp at once',
    fns: ['check_free_by_rcu'],
    optional: true,
    when: (x) => x.op === 'load' && cellIs(x, 'draining', 1),
  },
  {
    name: 'alloc_flags-gfp-kernel-fallback',
    text: 'bpf_mem_cache_alloc_flags(GFP_KERNEL) found free_llist empty and calls __alloc() itself',
    // its __alloc() call (its first step)
    entering: ['__alloc'],
    optional: true,
    when: (x) => x.fns[x.fns.lastIndexOf('__alloc') - 1] === 'bpf_mem_cache_alloc_flags',
  },
  { ...PERCPU_UNIT_ALREADY_INITIALISED, optional: true },
  KWORKER_ON_OTHER_CPU,
];
