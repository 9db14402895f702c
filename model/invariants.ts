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
} as const;

export type InvariantName = keyof typeof INVARIANTS;
export const INVARIANT_NAMES = Object.keys(INVARIANTS) as InvariantName[];

/** Checked for every policy; NoReuseBeforeGracePeriod only where promised. */
export const CORE_INVARIANTS: InvariantName[] = INVARIANT_NAMES.filter((n) => n !== 'NoReuseBeforeGracePeriod');

export function isInvariant(s: string): s is InvariantName {
  return Object.prototype.hasOwnProperty.call(INVARIANTS, s);
}
