// On-demand per-CPU units' coverage situations (seed 000), as predicates
// over steps: the verifier's, and two of memalloc.c's (spec/memalloc/
// situations.ts), whose unit_alloc()/unit_free() the per-CPU buckets run.
import { Cell } from '../kernel/atomic.ts';
import { Field } from '../kernel/fields.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { Mutex } from '../kernel/mutex.ts';
import { Work } from '../kernel/workqueue.ts';
import { KWORKER_ON_OTHER_CPU, NO_KERNEL_FN } from '../kernel/situations.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import { irqWorkWhileOtherCpuFrees, nmiInActive } from '../memalloc/situations.ts';
import type { Situation } from '../policies/policy.ts';
import { Verifier } from './verifier.ts';

/** bpf_mem_alloc_percpu_unit_init()'s load of cpu0's c->unit_size found it
 *  set (an earlier load set the size up): the loop ends. */
export const PERCPU_UNIT_ALREADY_INITIALISED: Situation = {
  name: 'percpu-unit-already-initialised',
  text: "bpf_mem_alloc_percpu_unit_init() found the size's unit already set up",
  fns: ['bpf_mem_alloc_percpu_unit_init'],
  when: (x) => x.target instanceof Field && x.target.field === 'unit_size' && (x.target.owner as BpfMemCache).unit_size !== 0,
};

/** A load of bpf_global_percpu_ma_set in check_kfunc_call(): its value and
 *  whether the loader holds bpf_percpu_ma_lock (the second load does). */
function maSetLoad(x: { op: string; target: unknown; id: number }): { v: number; locked: boolean } | null {
  const t = x.target;
  if (x.op !== 'load' || !(t instanceof Cell) || t.field !== 'bpf_global_percpu_ma_set') return null;
  const h = (t.owner as Verifier).bpf_percpu_ma_lock.holder;
  return { v: t.v, locked: h !== null && h.id === x.id };
}

// per context, of the kernel asked last: its first load found the flag
// clear and it has not taken the mutex since
let of: Kernel | null = null;
const clearBeforeLock = new Set<number>();

export const PERCPU_SITUATIONS: readonly Situation[] = [
  {
    name: 'percpu-alloc-before-load',
    text: 'a program ran before its load finished and asked for it',
    // requestLoad(): queue_work() of the load's work, from the program
    fns: [NO_KERNEL_FN],
    when: (x) => x.op === 'queue_work' && x.target instanceof Work && x.target.owner instanceof Verifier,
  },
  {
    name: 'percpu-load-waits-for-mutex',
    text: 'a load found bpf_percpu_ma_lock held by a racing load',
    // after the first load found bpf_global_percpu_ma_set clear, its
    // mutex_lock() waits
    fns: ['check_kfunc_call'],
    when: (x, k) => {
      if (of !== k) {
        of = k;
        clearBeforeLock.clear();
      }
      const l = maSetLoad(x);
      if (l !== null) {
        if (!l.locked && l.v === 0) clearBeforeLock.add(x.id);
        return false;
      }
      if (!(x.target instanceof Mutex) || !clearBeforeLock.has(x.id)) return false;
      clearBeforeLock.delete(x.id);
      return x.op === 'wait';
    },
  },
  {
    name: 'percpu-ma-set-by-racing-load',
    text: 'a load saw bpf_global_percpu_ma_set clear, then set under the mutex',
    fns: ['check_kfunc_call'],
    when: (x) => {
      const l = maSetLoad(x);
      return l !== null && l.locked && l.v === 1;
    },
  },
  PERCPU_UNIT_ALREADY_INITIALISED,
  irqWorkWhileOtherCpuFrees(['unit_free']),
  nmiInActive('unit_alloc', 'an NMI program enters the allocator while unit_alloc holds active'),
  KWORKER_ON_OTHER_CPU,
];
