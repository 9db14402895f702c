// The invariants of BRIEF §3, each with the stable name used in reports and
// fixtures. Nouns for invariants; one name per conjunct so the failing part
// is named.
import type { FactKind } from '../spec/kernel/facts.ts';

/** When an invariant is judged: at every step (the model's per-step and
 *  per-operation checks, model/allocator.ts), at every quiescent point, at
 *  the end of teardown, after a fair quiesce (liveness), or when the engine
 *  reports one of its facts (spec/kernel/events.ts FactKind). */
export type Scope = 'step' | 'quiescence' | 'teardown' | 'liveness' | 'fact';

export interface InvariantDef {
  /** one line: what it promises */
  readonly text: string;
  readonly scope: Scope;
  /** the engine's facts this invariant judges (model/judges.ts): each fact
   *  is judged by exactly one invariant */
  readonly facts?: readonly FactKind[];
}

/** Every invariant: name, text, scope and what judges it, side by side.
 *  Adding one touches this table, its judge (below for a fact; model/
 *  allocator.ts for the model's own checks) and its test. */
export const INVARIANT_DEFS = {
  ExclusiveOwnership: { text: 'an allocation never returns an object that is still owned by a program', scope: 'step' },
  Conservation: { text: 'at quiescence every object is in exactly one place: owned, on one list, in one in-flight batch, or in slab', scope: 'quiescence', facts: ['double-free', 'slot-misuse', 'objects-lost'] },
  NeverOnTwoLists: { text: 'at every step, no object is reachable from two lists (or twice from one)', scope: 'step', facts: ['on-two-lists'] },
  FreeCntMatchesList: { text: 'at quiescence free_cnt equals the length of free_llist', scope: 'quiescence' },
  ActiveIdleAtQuiescence: { text: "at quiescence every cache's active counter is 0", scope: 'quiescence' },
  NoKernelWarn: { text: 'no WARN_ON / WARN_ON_ONCE of the modelled source fires', scope: 'fact', facts: ['warn', 'oops'] },
  RcuSafety: { text: 'no object goes back to slab while a reader that could have looked it up is still inside its critical section: any read-side section open when a program last freed it (normal RCU, and RCU tasks trace unless the design makes sleepable readers take rcu_read_lock()), whether or not it looked the object up', scope: 'step' },
  NoReuseBeforeGracePeriod: { text: 'a freed object is handed out again only after a normal RCU grace period that began after its free: every object freed with bpf_mem_free_rcu() (a policy\'s freeRcu), and every freed object where the policy promises it (the reuse flavours)', scope: 'step' },
  TeardownBarriers: { text: 'once teardown frees a cache, no irq_work, kworker or RCU callback touches it', scope: 'fact', facts: ['teardown-touch'] },
  NoLeakAtTeardown: { text: 'after teardown and all pending callbacks, every object and every percpu structure is back in slab', scope: 'teardown', facts: ['leak'] },
  NoDeadlock: { text: 'every started operation can finish; waiting forever is reported', scope: 'fact', facts: ['self-deadlock', 'livelock', 'stuck'] },
  RefillProgress: { text: 'liveness: a cache that needs a refill gets one: after a failed allocation and a fair quiesce (every pending irq_work, kworker, grace period and callback ran), an allocation on that CPU succeeds while slab has room; and no raised irq_work is left that can never run', scope: 'liveness', facts: ['never-runs'] },
  NoAllocFailureFromContention: { text: "an allocation fails because it found its cache's active counter taken only in NMI context: IRQs off around it in unit_alloc()/unit_free(), and the refill's local_irq_save() on PREEMPT_RT, leave an NMI program as the only context that can", scope: 'step' },
  NoAllocFailureWhileRefillStalled: { text: 'liveness: an allocation does not fail while memory is available because its refill was raised (irq_work_claim()) by a task that a task-level context preempted before it queued the work', scope: 'step' },
  FreedObjectsReturnToSlab: { text: 'liveness: once every pending callback and grace period ran (a fair quiesce), no object is left on a list that waits for a grace period', scope: 'liveness' },
  ObjectFitsRequest: { text: 'the unit handed out holds the size asked for plus the policy\'s header (ksize(), or the percpu unit)', scope: 'step' },
  SizeMatchesCache: { text: 'an object put on a cache\'s list has that cache\'s unit size', scope: 'fact', facts: ['size-mismatch'] },
  BucketIndexInRange: { text: 'a size-bucket index used to pick a per-CPU cache lies in 0..NUM_CACHES-1', scope: 'fact', facts: ['bad-index'] },
  NoUseAfterFree: { text: 'no field of a structure is read or written after the structure was freed', scope: 'fact', facts: ['field-after-free'] },
  MemoryBound: { text: "the objects a policy keeps for reuse stay within what its code allows: at a quiescent point with every raised refill run, what programs own plus what the caches hold (objects freed with bpf_mem_free_rcu() aside) is at most the programs' per-CPU peak plus the family's slack (watermarks, batch, array size; Kernel.bounds)", scope: 'quiescence' },
  DeadCpuHoldsNothing: { text: "after a CPU's CPU-dead callback ran, and after teardown, none of that CPU's caches holds an object", scope: 'step' },
  NoSleepInAtomic: { text: 'no sleeping call (mutex_lock, GFP_KERNEL, vmalloc, synchronize_*, barriers) from a context that cannot sleep', scope: 'fact', facts: ['sleep-in-atomic'] },
  // seed 003, the percpu chunk allocator (model/percpu_chunk.ts)
  PcpuMapCoversUnit: { text: 'at quiescence each chunk map covers the unit exactly: the sizes of its entries sum to the unit size, none is zero', scope: 'quiescence' },
  PcpuFreeSizeExact: { text: 'at quiescence a chunk\'s free_size equals the sum of its free map entries', scope: 'quiescence' },
  PcpuContigHintBound: { text: 'at quiescence a chunk\'s contig_hint is at least its largest free map entry (percpu.c\'s header comment)', scope: 'quiescence' },
  PcpuChunkInSlot: { text: 'at quiescence every chunk sits once on the pcpu_slot[] list pcpu_chunk_slot() names, and only chunks do', scope: 'quiescence' },
  PcpuSlotWalk: { text: 'a list_for_each_entry() over a pcpu_slot[] list stays on that list', scope: 'fact', facts: ['walk-left-list'] },
  PcpuAreasDisjoint: { text: 'an area __alloc_percpu() returns overlaps no live area', scope: 'step' },
  PcpuAreaAligned: { text: 'an area __alloc_percpu() returns is aligned as asked', scope: 'step' },
  PcpuAreasMatchModel: { text: 'at quiescence the allocated map entries are exactly the live areas (and the static area), each at its offset and at least its size', scope: 'quiescence' },
  PcpuLiveAreaPopulated: { text: 'every byte of every live area (and of the static area) lies on a page populated on every possible CPU', scope: 'step' },
  PcpuLiveAreaMapped: { text: "every page under a live area (and under the static area) is mapped in its chunk's vm area: pcpu_map() covered it after it was populated, and no pcpu_unmap() since", scope: 'step' },
  // mm/slub.c with sheaves, kmalloc_nolock() (model/sheaves.ts)
  SheafInOnePlace: { text: 'every sheaf is in exactly one place: main, spare or rcu_free of one CPU, one barn list, one RCU callback, or one context\'s hands', scope: 'quiescence' },
  MainSheafPresent: { text: "a CPU's pcs->main is never NULL while its cpu_sheaves lock is not held", scope: 'fact', facts: ['main-sheaf-missing'] },
  NoSpinWhereForbidden: { text: 'no acquire that may spin or sleep, and no allocation that may, in NMI or on an allow_spin = false path (judged at the acquire); no trylock retried without bound against the context it interrupted', scope: 'fact', facts: ['spin-forbidden'] },
  KvfreeRcuBarrierComplete: { text: 'when a kvfree_rcu barrier of a cache returns, no object of the cache whose kfree_rcu() returned before the barrier began still waits for its callback', scope: 'step' },
  DestroyLeavesNothing: { text: 'when kmem_cache_destroy() has shut the cache down, nothing is left cached in sheaves, barns or deferred lists, and no slab is counted or listed on any node', scope: 'step' },
  SlabCountsMatch: { text: "at quiescence each node's nr_slabs counts its slabs and nr_partial its partial list, and each slab's inuse counts its objects out of the slab", scope: 'quiescence' },
  PfmemallocOnlyToReserves: { text: 'an allocation that may not use memory reserves (gfp_pfmemalloc_allowed() false) never gets an object of a pfmemalloc slab', scope: 'step' },
  PfmemallocNotCached: { text: 'at quiescence no object of a pfmemalloc slab sits in a main or spare sheaf or a barn, where any allocation could take it (kfree_rcu sheaves may hold one: rcu_free_sheaf() flushes them)', scope: 'quiescence' },
} as const satisfies Record<string, InvariantDef>;

export type InvariantName = keyof typeof INVARIANT_DEFS;

/** name -> text, as reports print them */
export const INVARIANTS = Object.fromEntries(Object.entries(INVARIANT_DEFS).map(([n, d]) => [n, d.text])) as { readonly [K in InvariantName]: (typeof INVARIANT_DEFS)[K]['text'] };

/** The invariant a fact of the engine breaks. */
export function invariantOf(fact: FactKind): InvariantName {
  const n = BY_FACT.get(fact);
  if (n === undefined) throw new Error(`model: no invariant judges the fact '${fact}' (model/invariants.ts)`);
  return n;
}
const BY_FACT = new Map<FactKind, InvariantName>();
for (const [n, d] of Object.entries(INVARIANT_DEFS) as [InvariantName, InvariantDef][]) for (const f of d.facts ?? []) BY_FACT.set(f, n);

export const INVARIANT_NAMES = Object.keys(INVARIANTS) as InvariantName[];

/** Seed 003's chunk-map invariants: checked for the policies that promise
 *  them (the percpu chunk allocator and what runs on it), not reported as
 *  vacuously held for allocators without chunk maps. */
export const PCPU_INVARIANTS = INVARIANT_NAMES.filter((n) => n.startsWith('Pcpu'));

/** The sheaves invariants: checked for the policies that promise them
 *  (spec/sheaves/), not reported as vacuously held for the others. */
export const SHEAVES_INVARIANTS: InvariantName[] = ['SheafInOnePlace', 'MainSheafPresent', 'NoSpinWhereForbidden', 'KvfreeRcuBarrierComplete', 'DestroyLeavesNothing', 'SlabCountsMatch', 'PfmemallocOnlyToReserves', 'PfmemallocNotCached'];

/** Checked for every policy; NoReuseBeforeGracePeriod, the chunk-map and
 *  the sheaves invariants only where promised. */
export const CORE_INVARIANTS: InvariantName[] = INVARIANT_NAMES.filter((n) => n !== 'NoReuseBeforeGracePeriod' && !PCPU_INVARIANTS.includes(n) && !SHEAVES_INVARIANTS.includes(n));

export function isInvariant(s: string): s is InvariantName {
  return Object.prototype.hasOwnProperty.call(INVARIANTS, s);
}

/** Invariants judged on an observation that leaves the allocator's state
 *  intact (an allocation returned NULL): when one is a known finding the
 *  run notes it and goes on, so the other invariants stay checked through
 *  the whole run. */
export const OBSERVATIONS: readonly InvariantName[] = ['NoAllocFailureWhileRefillStalled', 'NoAllocFailureFromContention'];
