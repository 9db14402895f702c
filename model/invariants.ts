// The invariants of BRIEF §3, each with the stable name used in reports and
// fixtures. Nouns for invariants; one name per conjunct so the failing part
// is named.
export const INVARIANTS = {
  ExclusiveOwnership: 'an allocation never returns an object that is still owned by a program',
  Conservation: 'at quiescence every object is in exactly one place: owned, on one list, in one in-flight batch, or in slab',
  NeverOnTwoLists: 'at every step, no object is reachable from two lists (or twice from one)',
  FreeCntMatchesList: 'at quiescence free_cnt equals the length of free_llist',
  ActiveIdleAtQuiescence: "at quiescence every cache's active counter is 0",
  NoKernelWarn: 'no WARN_ON / WARN_ON_ONCE of the modelled source fires',
  RcuSafety: 'no object goes back to slab while an RCU reader that looked it up is still inside its critical section',
  NoReuseBeforeGracePeriod: 'a freed object is handed out again only after a normal RCU grace period (promised by the reuse flavours)',
  TeardownBarriers: 'once teardown frees a cache, no irq_work, kworker or RCU callback touches it',
  NoLeakAtTeardown: 'after teardown and all pending callbacks, every object and every percpu structure is back in slab',
  NoDeadlock: 'every started operation can finish; waiting forever is reported',
  NoSleepInAtomic: 'no sleeping call (mutex_lock, GFP_KERNEL, vmalloc, synchronize_*, barriers) from a context that cannot sleep',
  // seed 003, the percpu chunk allocator (model/percpu_chunk.ts)
  PcpuMapCoversUnit: 'at quiescence each chunk map covers the unit exactly: the sizes of its entries sum to the unit size, none is zero',
  PcpuFreeSizeExact: 'at quiescence a chunk\'s free_size equals the sum of its free map entries',
  PcpuContigHintBound: 'at quiescence a chunk\'s contig_hint is at least its largest free map entry (percpu.c\'s header comment)',
  PcpuChunkInSlot: 'at quiescence every chunk sits once on the pcpu_slot[] list pcpu_chunk_slot() names, and only chunks do',
  PcpuSlotWalk: 'a list_for_each_entry() over a pcpu_slot[] list stays on that list',
  PcpuAreasDisjoint: 'an area __alloc_percpu() returns overlaps no live area',
  PcpuAreaAligned: 'an area __alloc_percpu() returns is aligned as asked',
  PcpuAreasMatchModel: 'at quiescence the allocated map entries are exactly the live areas (and the static area), each at its offset and at least its size',
  PcpuLiveAreaPopulated: 'every byte of every live area (and of the static area) lies on a page populated on every possible CPU',
} as const;

export type InvariantName = keyof typeof INVARIANTS;
export const INVARIANT_NAMES = Object.keys(INVARIANTS) as InvariantName[];

/** Checked for every policy; NoReuseBeforeGracePeriod only where promised. */
export const CORE_INVARIANTS: InvariantName[] = INVARIANT_NAMES.filter((n) => n !== 'NoReuseBeforeGracePeriod');

export function isInvariant(s: string): s is InvariantName {
  return Object.prototype.hasOwnProperty.call(INVARIANTS, s);
}
