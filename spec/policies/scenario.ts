// Scenarios for `allocspec prove`: a fixed set of operations per CPU and
// context, written as data, whose every interleaving (up to a preemption
// bound) the prove search runs. A family declares the windows it has in
// one file beside its code (spec/memalloc/scenarios.ts, ...); a policy
// carries its family's list in its `scenarios` field and may add its own.
//
//   cpus[c]    the BPF programs CPU c runs at task level, one after the
//              other (each one program: rcu_read_lock(), one call, unlock)
//   nmi        perf-event programs: each arrives once on its CPU, at any
//              step of it (before, between or after its programs)
//   teardown   the map is freed (map_free, then the policy's destroy) once
//              every program has finished, racing whatever is in flight
//   offline    the last CPU goes offline once, at any point it may
//   inject     failures armed once each at any point (kmalloc, trylock...)
//
// irq_work, kworkers, RCU callbacks and grace periods are not listed: the
// kernel raises and runs them, and the search interleaves them too.
// Objects are named: an alloc names what it got (`as`), a later free,
// free_rcu or lookup on any CPU or in an NMI names it (`obj`) and starts
// only once that object is the map's (an alloc that got NULL names
// nothing: the programs that wanted its object do not run).

export type ScenarioOpName = 'alloc' | 'free' | 'free_rcu' | 'lookup';

export interface ScenarioProg {
  readonly op: ScenarioOpName;
  /** alloc: the name of the object it gets */
  readonly as?: string;
  /** free, free_rcu, lookup: the object, by the name an alloc gave it */
  readonly obj?: string;
  /** alloc: which request, an index into the configuration's sizes (or
   *  the policy's requests); default 0 */
  readonly req?: number;
  /** a sleepable program: an RCU tasks trace reader (task level only) */
  readonly sleepable?: boolean;
}

export interface ScenarioNmi extends ScenarioProg {
  /** the CPU the NMI arrives on */
  readonly cpu: number;
}

export interface Scenario {
  /** stable name, unique within a policy's list */
  readonly name: string;
  /** the window it covers, one line */
  readonly window: string;
  /** a configuration by name (harness/config.ts; default fixed) */
  readonly config?: string;
  /** and what the scenario changes in it: the sizes programs ask for,
   *  the slab pool, whether faults may be injected */
  readonly sizes?: readonly number[];
  readonly objects?: number;
  readonly faults?: boolean;
  /** per CPU, the programs it runs in order */
  readonly cpus: readonly (readonly ScenarioProg[])[];
  readonly nmi?: readonly ScenarioNmi[];
  readonly teardown?: boolean;
  readonly offline?: boolean;
  /** injected failures, each armed once at any point (the next kmalloc,
   *  __alloc_percpu_gfp, spin_trylock or alloc_pages_node then fails) */
  readonly inject?: readonly ('kmalloc' | 'percpu' | 'trylock' | 'page')[];
}
