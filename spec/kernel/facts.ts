// The kinds of fact the engine and the spec report (spec/kernel/events.ts
// report()): a leaf module, so the model can name the facts its invariants
// judge without depending on the engine.

export type FactKind =
  /** a WARN_ON, BUG_ON or lockdep assertion of the modelled source fired,
   *  or the kernel would warn (a context returned with IRQs off) */
  | 'warn'
  /** the code followed a NULL or garbage pointer: an oops */
  | 'oops'
  /** a context waits on what only a context it interrupted (or itself)
   *  can release */
  | 'self-deadlock'
  /** a context or the machine keeps stepping without finishing */
  | 'livelock'
  /** nothing can run and something is left waiting */
  | 'stuck'
  /** an irq_work, kworker, RCU callback or primitive touched a structure
   *  teardown freed */
  | 'teardown-touch'
  /** a plain field of a freed structure was read or written */
  | 'field-after-free'
  /** an object or structure freed twice, or an object slot used wrongly
   *  (popped empty, written past its count, never filled) */
  | 'double-free'
  | 'slot-misuse'
  /** an object put on a cache of another unit size */
  | 'size-mismatch'
  /** a size-bucket index outside the buckets */
  | 'bad-index'
  /** a node linked twice (a cycle, a work queued on its list twice) */
  | 'on-two-lists'
  /** a sleeping call where the context may not sleep */
  | 'sleep-in-atomic'
  /** a raised irq_work that can never run */
  | 'never-runs'
  /** what a structure still holds after everything was freed */
  | 'leak'
  /** a list walk left the list it started on */
  | 'walk-left-list'
  /** objects dropped with the structure that held them (a sheaf freed
   *  with objects in it, a slab freed with objects out of it) */
  | 'objects-lost'
  /** an acquire or allocation that may spin or sleep where it may not
   *  (NMI, an allow_spin = false path), or a trylock retried without
   *  bound against the context it interrupted */
  | 'spin-forbidden'
  /** a CPU's pcs->main left NULL when its cpu_sheaves lock is released */
  | 'main-sheaf-missing';

/** Every kind of fact, for the model's completeness test. */
export const FACT_KINDS: readonly FactKind[] = [
  'warn',
  'oops',
  'self-deadlock',
  'livelock',
  'stuck',
  'teardown-touch',
  'field-after-free',
  'double-free',
  'slot-misuse',
  'size-mismatch',
  'bad-index',
  'on-two-lists',
  'sleep-in-atomic',
  'never-runs',
  'leak',
  'walk-left-list',
  'objects-lost',
  'spin-forbidden',
  'main-sheaf-missing',
];

// ---- witnesses ----
//
// What happened, as data, beside a violation's text: where it fired, who
// else was involved, what it is about. A known finding's signature
// (spec/policies/policy.ts Finding) is a predicate over it, so a finding
// names what happened rather than a whole invariant.

/** A context at one point of the run. */
export interface Place {
  /** its stable label (prog3, nmi14, kworker0, irq_work1, softirq0) */
  readonly ctx: string;
  readonly level: 'task' | 'softirq' | 'hardirq' | 'nmi';
  readonly cpu: number;
  /** kernel functions, outermost first */
  readonly fns: readonly string[];
  /** what its step touched (a lock, a list head, a counter), or '' */
  readonly touched: string;
}

export interface Witness {
  /** the context whose step broke the invariant; null when the model
   *  judged it at a quiescent point, after a fair quiesce or at teardown */
  readonly at: Place | null;
  /** other contexts the judge names: the holder of the lock a context
   *  spins on, the task that claimed a stalled refill */
  readonly with: readonly Place[];
  /** the structures and objects the violation is about, by name (a lock,
   *  a list head, a chunk, the objects lost or leaked) */
  readonly subjects: readonly string[];
  /** values the judge read (PcpuChunkInSlot: the slot the chunk is on and
   *  the one pcpu_chunk_slot() names) */
  readonly data: Readonly<Record<string, number | string>>;
  /** per subject object: the last step of the run that acted on it or
   *  wrote it (filled by the harness from a recorded replay when a
   *  signature asks for it: Finding.last) */
  readonly last: readonly (Place & { readonly subject: string })[];
}
