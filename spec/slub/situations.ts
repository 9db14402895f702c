// mm/slub.c's per-CPU array (seed 002): its coverage situations, as
// predicates over steps (Situation in spec/policies/policy.ts). The array's
// steps name it as their target (pca.ts at()); a trylock step names the
// array's lock and failed when its context does not hold it afterwards.
import type { StepView } from '../kernel/events.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { RawSpinlock } from '../kernel/spinlock.ts';
import { beneath, doing } from '../memalloc/situations.ts';
import type { Situation } from '../policies/policy.ts';
import { bulkRead, inIrq, PercpuArray, SlubPercpuArray } from './pca.ts';

/** Where pca_spin_trylock() is called (it is no kernel function of its own). */
const TRYLOCKERS = ['alloc_from_pca', 'alloc_from_pca_bulk', 'refill_pca', 'flush_pca', 'free_to_pca', 'free_to_pca_bulk'];

/** The array's lock, if the step is a spin_trylock() of it that failed. */
function trylockFailed(x: StepView): RawSpinlock | null {
  const l = x.target;
  if (x.op !== 'spin_trylock' || !(l instanceof RawSpinlock) || !(l.owner instanceof PercpuArray)) return null;
  return l.holder !== null && l.holder.id === x.id ? null : l;
}

/** The step read pca->used (pca.ts pcaUsed(): the array, no object moved). */
function usedRead(x: StepView): SlubPercpuArray | null {
  return x.target instanceof SlubPercpuArray && x.act === null ? x.target : null;
}

/** The function that called the innermost copy of fn on the step's stack. */
function caller(x: StepView, fn: string): string | undefined {
  return x.fns[x.fns.lastIndexOf(fn) - 1];
}

// what the context the failed trylock interrupted was doing (asked by every
// `pca-trylock-fails:<fn>`, answered once per step)
let overOf: Kernel | null = null;
let overStep = -1;
let over: string | null = null;
function failedOver(x: StepView, k: Kernel): string | null {
  if (overOf === k && overStep === k.steps) return over;
  overOf = k;
  overStep = k.steps;
  const y = trylockFailed(x) !== null ? beneath(x, k) : undefined;
  return (over = y ? doing(y) : null);
}

/** `pca-trylock-fails:<fn>`: the trylock failed over a context in fn. */
function failsOver(fn: string, text = `an interrupt used the array while ${fn} held its lock`, optional = true): Situation {
  return { name: `pca-trylock-fails:${fn}`, text, fns: TRYLOCKERS, optional, when: (x, k) => failedOver(x, k) === fn };
}

/** What a context can be doing when an interrupt on its CPU finds the
 *  array locked: the array's functions, the user's (spec/slub/user.ts) and
 *  the contexts in no function. */
const HOLDERS = [
  'refill_pca', 'alloc_from_pca_bulk', 'free_to_pca', 'free_to_pca_bulk', 'flush_pca',
  '__slab_alloc_node', '__kmem_cache_alloc_bulk', '__kmem_cache_free_bulk', 'do_slab_free',
  'slab_alloc_node', 'kmem_cache_alloc', 'kmem_cache_alloc_bulk', 'slab_free', 'kmem_cache_free', 'kmem_cache_free_bulk',
  'kmem_cache_prefill_percpu_array', 'kmem_cache_destroy',
  'map_nmi_work', 'map_free', 'elem_free_rcu_tasks_trace', 'prog', 'kworker', 'softirq', 'irq_work', 'cpuhp',
];

/** A bulk operation's read of pca->used: how many of how many it takes. */
function bulk(name: string, text: string, fn: 'alloc_from_pca_bulk' | 'free_to_pca_bulk', kind: 'many' | 'partial' | 'none'): Situation {
  return {
    name,
    text,
    fns: [fn],
    when: (x, k) => {
      const pca = usedRead(x);
      if (pca === null || bulkRead.x !== x || bulkRead.step !== k.steps) return false;
      const want = bulkRead.want;
      if (want <= 1) return false;
      const size = Math.min(want, fn === 'alloc_from_pca_bulk' ? pca.used.v : pca.count - pca.used.v);
      return kind === 'many' ? size === want : kind === 'partial' ? size > 0 && size < want : size === 0;
    },
  };
}

/** free_to_pca()'s read of pca->used found the array full: in an irq it
 *  gives up, else it flushes half. */
function freeFindsFull(name: string, text: string, irq: boolean, optional = false): Situation {
  return {
    name,
    text,
    fns: ['free_to_pca'],
    optional,
    when: (x) => {
      const pca = usedRead(x);
      return pca !== null && pca.used.v === pca.count && inIrq(x as Parameters<typeof inIrq>[0]) === irq;
    },
  };
}

// per context, of the kernel asked last: did its last trylock in
// refill_pca() succeed; did slab_free() call free_to_pca()
let of: Kernel | null = null;
const refillLocked = new Map<number, boolean>();
const triedPca = new Set<number>();
function notes(k: Kernel): void {
  if (of === k) return;
  of = k;
  refillLocked.clear();
  triedPca.clear();
}

export const SLUB_SITUATIONS: readonly Situation[] = [
  { name: 'pca-trylock-fails', text: 'spin_trylock() on the array failed: the operation bypassed it', fns: TRYLOCKERS, when: (x) => trylockFailed(x) !== null },
  failsOver('alloc_from_pca', 'an interrupt used the array while alloc_from_pca() held its lock', false),
  {
    name: 'pca-refill-when-empty',
    text: 'alloc_from_pca() found the array empty and refilled half of it',
    entering: ['refill_pca'],
    when: (x) => caller(x, 'refill_pca') === 'alloc_from_pca',
  },
  freeFindsFull('pca-flush-when-full', 'free_to_pca() found the array full and flushed half of it', false),
  {
    name: 'pca-free-bypassed',
    text: 'free_to_pca() could not take an object',
    // slab_free() called free_to_pca() (which could not take it), then
    // do_slab_free(); a slab_free() with no array enters do_slab_free() in
    // its own first step
    entering: ['free_to_pca', 'do_slab_free'],
    when: (x, k) => {
      notes(k);
      if (x.fns.includes('free_to_pca')) {
        if (caller(x, 'free_to_pca') === 'slab_free') triedPca.add(x.id);
        return false;
      }
      if (caller(x, 'do_slab_free') !== 'slab_free') return false;
      const tried = triedPca.delete(x.id);
      return tried && x.fns.lastIndexOf('slab_free') < x.entered;
    },
  },
  {
    name: 'pca-refill-trylock-fails-holding-objects',
    text: 'refill_pca() failed the trylock with a bulk-allocated batch in hand',
    fns: ['refill_pca'],
    when: (x, k) => {
      notes(k);
      if (x.op !== 'spin_trylock' || !(x.target instanceof RawSpinlock)) return false;
      const failed = trylockFailed(x) !== null;
      refillLocked.set(x.id, !failed);
      return failed;
    },
  },
  bulk('pca-free-bulk-many', 'free_to_pca_bulk() took all of a batch of several objects', 'free_to_pca_bulk', 'many'),
  bulk('pca-free-bulk-partial', 'free_to_pca_bulk() took part of a batch, the rest went to slab', 'free_to_pca_bulk', 'partial'),
  bulk('pca-free-bulk-full', 'free_to_pca_bulk() found no room for a batch of several objects', 'free_to_pca_bulk', 'none'),
  bulk('pca-alloc-bulk-many', 'alloc_from_pca_bulk() supplied all of several objects', 'alloc_from_pca_bulk', 'many'),
  bulk('pca-alloc-bulk-partial', 'alloc_from_pca_bulk() supplied part of several objects, slab the rest', 'alloc_from_pca_bulk', 'partial'),
  bulk('pca-alloc-bulk-empty', 'alloc_from_pca_bulk() found the array empty for several objects', 'alloc_from_pca_bulk', 'none'),
  {
    name: 'pca-alloc-in-hardirq',
    text: 'kmem_cache_alloc*() from hardirq (GFP_ATOMIC)',
    entering: ['slab_alloc_node', 'kmem_cache_alloc_bulk'],
    when: (x) => x.level === 'hardirq',
  },
  {
    name: 'pca-trylock-fails-in-hardirq',
    text: 'a hardirq found the array locked by the task or softirq it interrupted and bypassed it',
    fns: TRYLOCKERS,
    when: (x) => x.level === 'hardirq' && trylockFailed(x)?.holder != null,
  },
  // counted, not expected of every run: no user path frees from hardirq
  // (the user has no element there that no reader can still see,
  // spec/slub/user.ts), and the rarer turns of the array
  {
    name: 'pca-free-in-hardirq',
    text: 'kmem_cache_free*() from hardirq',
    entering: ['slab_free', 'kmem_cache_free_bulk'],
    optional: true,
    when: (x) => x.level === 'hardirq',
  },
  freeFindsFull('pca-full-in-irq', 'free_to_pca() in an irq found the array full and gave the object back', true, true),
  {
    name: 'pca-refill-overshoots',
    text: "refill_pca() could not put all of its batch into the array (someone freed to it meanwhile): the rest goes to slab",
    // its __kmem_cache_free_bulk() after a trylock that succeeded
    entering: ['__kmem_cache_free_bulk'],
    optional: true,
    when: (x) => caller(x, '__kmem_cache_free_bulk') === 'refill_pca' && refillLocked.get(x.id) === true,
  },
  {
    name: 'pca-bulk-partial-undone',
    text: 'kmem_cache_alloc_bulk() got part from the array and none from slab: it frees the part',
    entering: ['__kmem_cache_free_bulk'],
    optional: true,
    when: (x) => caller(x, '__kmem_cache_free_bulk') === 'kmem_cache_alloc_bulk',
  },
  ...HOLDERS.map((fn) => failsOver(fn)),
];
