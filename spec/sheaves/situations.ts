// The sheaves family's coverage situations, as predicates over steps (see
// Situation in spec/policies/policy.ts): what the exploration must reach
// for a green check of slub-sheaves or kmalloc-nolock to mean something.
import type { Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { lastTrylock } from '../kernel/local_lock.ts';
import { numaMemId } from '../kernel/numa.ts';
import type { Situation } from '../policies/policy.ts';
import { KWORKER_ON_OTHER_CPU } from '../kernel/situations.ts';
import { lastRacyRead } from './barn.ts';
import { pageAllocator, virtToSlab } from './slab.ts';

const within = (x: Context, fn: string): boolean => x.fns.includes(fn);

/** x's local_trylock() of this step failed over a context beneath it */
function trylockFailed(x: Context): boolean {
  const t = lastTrylock.get(x);
  return t !== undefined && !t.ok;
}

/** an object of this step went back to its slab from another node's CPU */
function remoteToSlab(x: Context, k: Kernel): boolean {
  return x.act === 'to slab' && x.obj !== null && virtToSlab(x.obj).node !== numaMemId(k, x.cpu);
}

/** x's racy read of this step found the barn count at the cache's limit */
function atLimit(x: Context, what: 'nr_full' | 'nr_empty'): boolean {
  const r = lastRacyRead.get(x);
  if (!r || r.what !== what || !x.touched.endsWith(`.${what}`)) return false;
  return r.v >= (what === 'nr_full' ? r.barn.cache.max_full_sheaves : r.barn.cache.max_empty_sheaves);
}

const S = {
  trylockNmi: { name: 'trylock-fails:nmi', text: 'an NMI found the cpu_sheaves lock taken by the context it interrupted', fns: ['local_trylock'], level: 'nmi', when: (x: Context) => trylockFailed(x) },
  trylockHardirq: { name: 'trylock-fails:hardirq', text: 'a hardirq found the cpu_sheaves lock taken by the context it interrupted', fns: ['local_trylock'], when: (x: Context) => x.level === 'hardirq' && trylockFailed(x) },
  trylockRt: { name: 'trylock-fails:rt-task', text: 'on PREEMPT_RT a task found the cpu_sheaves lock taken by the task it preempted', fns: ['local_trylock'], when: (x: Context, k: Kernel) => k.cfg.preemptRt && x.level === 'task' && trylockFailed(x) },
  remoteBulk: { name: 'remote-bulk-free', text: 'free_to_pcs_bulk() sent a remote object to its slab', fns: ['__slab_free'], act: 'to slab', when: (x: Context, k: Kernel) => within(x, 'free_to_pcs_bulk') && remoteToSlab(x, k) },
  remoteFree: { name: 'remote-free', text: 'slab_free() sent a remote object to its slab', fns: ['__slab_free'], act: 'to slab', when: (x: Context, k: Kernel) => within(x, 'slab_free') && remoteToSlab(x, k) },
  pfmemallocSlab: { name: 'pfmemalloc-slab', text: 'new_slab() gave a page from the memory reserves', fns: ['new_slab'], when: (_x: Context, k: Kernel) => pageAllocator(k).newestAt === k.steps && pageAllocator(k).newest!.pfmemalloc },
  pfmemallocFree: { name: 'pfmemalloc-object-to-slab', text: 'an object of a pfmemalloc slab was freed past the sheaves', fns: ['__slab_free'], act: 'to slab', when: (x: Context) => x.obj !== null && virtToSlab(x.obj).pfmemalloc },
  barnFullLimit: { name: 'barn-at-full-limit', text: 'a free found the barn at its full-sheaves limit (barn_replace_full_sheaf() -E2BIG, or rcu_free_sheaf() flushing)', fns: ['barn_replace_full_sheaf', 'rcu_free_sheaf'], when: (x: Context) => atLimit(x, 'nr_full') },
  barnEmptyLimit: { name: 'barn-at-empty-limit', text: 'rcu_free_sheaf() found the barn at its empty-sheaves limit and freed the sheaf', fns: ['rcu_free_sheaf'], when: (x: Context) => atLimit(x, 'nr_empty') },
  refillRelock: { name: 'refill-unlock-relock', text: '__pcs_replace_empty_main() refilled unlocked and took the lock again', fns: ['local_lock'], when: (x: Context) => within(x, '__pcs_replace_empty_main') },
  refillReconcile: { name: 'refill-found-main-refilled', text: '__pcs_replace_empty_main() relocked to find main and spare refilled meanwhile and put its sheaf in the barn', fns: ['barn_put_full_sheaf'], when: (x: Context) => within(x, '__pcs_replace_empty_main') },
  installReconcile: { name: 'install-empty-reconciled', text: '__pcs_install_empty_sheaf() found the sheaves changed while it allocated', fns: ['barn_put_empty_sheaf', 'barn_put_full_sheaf'], when: (x: Context) => within(x, '__pcs_install_empty_sheaf') },
  flushMain: { name: 'flush-main-when-no-empty', text: '__pcs_replace_full_main() flushed main to the slabs for want of an empty sheaf', fns: ['sheaf_flush_main'], when: (x: Context) => within(x, '__pcs_replace_full_main') },
  rcuHandoff: { name: 'kfree-rcu-sheaf-to-barn', text: 'rcu_free_sheaf() handed a full kfree_rcu sheaf to the barn after its grace period', fns: ['barn_put_full_sheaf'], when: (x: Context) => within(x, 'rcu_free_sheaf') },
  rcuSubmit: { name: 'kfree-rcu-sheaf-submitted', text: '__kfree_rcu_sheaf() filled a sheaf and queued it for a grace period', fns: ['__kfree_rcu_sheaf'], when: (x: Context) => x.touched.endsWith('.rcu_head') },
  rcuFlushed: { name: 'rcu-sheaf-flushed-by-barrier', text: 'flush_rcu_sheaf() took a partly filled rcu_free sheaf off a CPU', fns: ['flush_rcu_sheaf'], when: (x: Context) => x.touched.endsWith('.rcu_head') },
  kfreeRcuFallback: { name: 'kfree-rcu-fallback', text: 'kvfree_call_rcu() fell back to the batches', fns: ['kvfree_call_rcu'], when: (x: Context) => x.touched.endsWith('.rcu') },
  deferred: { name: 'kfree-nolock-deferred', text: 'kfree_nolock() deferred a free to the llist and irq_work', fns: ['defer_free'], act: 'put on list', when: () => true },
  deferredNmi: { name: 'kfree-nolock-deferred-in-nmi', text: 'kfree_nolock() in NMI deferred a free', fns: ['defer_free'], act: 'put on list', when: (x: Context) => x.level === 'nmi' },
  drained: { name: 'deferred-frees-drained', text: 'free_deferred_objects() freed a deferred object to its slab', fns: ['__slab_free'], act: 'to slab', when: (x: Context) => within(x, 'free_deferred_objects') },
  nolockNmi: { name: 'kmalloc-nolock-in-nmi', text: 'kmalloc_nolock() in NMI took an object from the sheaves', fns: ['alloc_from_pcs'], act: 'taken off list', when: (x: Context) => x.level === 'nmi' },
  nolockRtBail: { name: 'kmalloc-nolock-rt-irq', text: 'kmalloc_nolock() in NMI or hardirq on PREEMPT_RT returned NULL at once', fns: ['kmalloc_nolock'], when: (x: Context, k: Kernel) => k.cfg.preemptRt && x.level !== 'task' && x.fns.length > 0 && x.fn === 'kmalloc_nolock' },
  nolockNewSlabTrylock: { name: 'new-slab-trylock-fails', text: 'alloc_from_new_slab() could not take list_lock without spinning and gave the slab back', fns: ['free_new_slab_nolock'], when: () => true },
  destroyInflight: { name: 'destroy-with-inflight', text: 'kmem_cache_destroy() began with RCU callbacks, irq_work or works still in flight', fns: ['kvfree_rcu_barrier_on_cache', 'flush_rcu_sheaves_on_cache'], when: (x: Context, k: Kernel) => within(x, 'kmem_cache_destroy') && x.touched.endsWith('flush_lock') && (k.rcu.rcu.inflight.size > 0 || k.rcu.trace.inflight.size > 0 || k.pendingIrqWork.size > 0 || k.pendingWork.size > 0) },
  cpuDead: { name: 'cpu-dead-flush', text: 'slub_cpu_dead() flushed a dead CPU\'s sheaves to the slabs', fns: ['__slab_free'], act: 'to slab', when: (x: Context) => within(x, 'slub_cpu_dead') },
  flushAll: { name: 'flush-all-work', text: 'a flush_cpu_sheaves() work emptied a CPU\'s sheaves at destroy', fns: ['pcs_flush_all'], when: (x: Context) => x.touched.endsWith('.lock') && x.k.cpus[x.cpu]!.stack.length > 0 },
} as const satisfies Record<string, Situation>;

export const SLUB_SHEAVES_SITUATIONS: readonly Situation[] = [
  S.trylockHardirq,
  S.trylockRt,
  S.remoteBulk,
  S.remoteFree,
  S.pfmemallocSlab,
  S.pfmemallocFree,
  S.barnFullLimit,
  S.barnEmptyLimit,
  S.refillRelock,
  S.refillReconcile,
  S.installReconcile,
  S.flushMain,
  S.rcuHandoff,
  S.rcuSubmit,
  S.rcuFlushed,
  S.kfreeRcuFallback,
  S.destroyInflight,
  S.cpuDead,
  S.flushAll,
  KWORKER_ON_OTHER_CPU,
];

export const KMALLOC_NOLOCK_SITUATIONS: readonly Situation[] = [
  S.trylockNmi,
  S.trylockHardirq,
  S.trylockRt,
  S.remoteFree,
  S.barnFullLimit,
  S.deferred,
  S.deferredNmi,
  S.drained,
  S.nolockNmi,
  S.nolockRtBail,
  S.nolockNewSlabTrylock,
  S.destroyInflight,
  S.cpuDead,
  KWORKER_ON_OTHER_CPU,
];
