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
