// Interesting situations the exploration should reach, so that a green
// check cannot hide a blind spot: each is counted, and one never reached is
// reported as such.
import type { Policy } from '../spec/policies/policy.ts';
import type { FaultKind } from '../spec/kernel/slab.ts';

export const MEMALLOC_SITUATIONS: Record<string, string> = {
  'nmi-in-active:unit_alloc': 'an NMI program enters the allocator while unit_alloc holds active',
  'nmi-in-active:unit_free': 'an NMI program enters the allocator while unit_free holds active',
  'nmi-in-active:alloc_bulk': 'an NMI program enters the allocator while alloc_bulk (irq_work) holds active',
  'nmi-in-active:free_bulk': 'an NMI program enters the allocator while free_bulk (irq_work) holds active',
  'irq-work-while-other-cpu-frees': 'a program frees on one CPU while irq_work runs on another',
  'rcu-callback-racing-free': 'a program frees while an RCU callback runs',
  'grace-period-held-by-reader': 'a grace period could not end because a reader was inside its critical section',
  'teardown-with-callbacks-in-flight': 'teardown starts while RCU callbacks are queued',
};

export const FAULT_SITUATIONS: Record<FaultKind, string> = {
  kmalloc: 'a kmalloc failed (GFP_NOWAIT)',
  percpu: 'an __alloc_percpu_gfp failed',
  trylock: 'a spin_trylock failed',
  cpu_offline: 'a CPU went offline with work queued on it',
  page: 'an alloc_pages_node() failed while populating a percpu chunk',
};

/** The situations a policy is expected to reach under the given faults. */
export function expectedSituations(policy: Policy<unknown>, faults: readonly FaultKind[]): Record<string, string> {
  const base = policy.situations ?? MEMALLOC_SITUATIONS;
  const out: Record<string, string> = { ...base };
  for (const f of faults) out[`fault:${f}`] = FAULT_SITUATIONS[f];
  return out;
}
