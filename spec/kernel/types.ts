// The engine's vocabulary. A kernel function is a generator: every `yield`
// is one atomic step (a preemption point); the yielded string says what the
// step did, in the words of the C it models.
export type Gen<T = void> = Generator<string, T, void>;

/** Context levels, bottom to top of a CPU's stack (BRIEF §1). */
export type Level = 'task' | 'softirq' | 'hardirq' | 'nmi';
export const LEVEL_RANK: Record<Level, number> = { task: 0, softirq: 1, hardirq: 2, nmi: 3 };

/** Anything a spec structure lives in that can be freed (a bpf_mem_cache,
 *  a kmalloc'd batch). Touching it after `freed` is a use-after-free. */
export interface Owner {
  name: string;
  freed: boolean;
}

/** A named invariant failed. Thrown out of the spec; ends the run. */
export class Violation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'Violation';
  }
}
