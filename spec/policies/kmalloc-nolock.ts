// kmalloc_nolock() / kfree_nolock() of the late-January 2026 snapshot of
// mm/slub.c (spec/sheaves/nolock.ts): BPF-like programs at task level and
// in NMI, and a hardirq user, on the kmalloc caches of the configuration's
// sizes; map elements freed after their grace periods with kfree_nolock()
// or kfree(), scratch buffers freed at once with kfree_nolock() in every
// context; CPU hotplug; kmem_cache_destroy() of every cache at teardown
// (kmalloc caches live for ever; destroying them here checks the destroy
// sequence with deferred frees in flight).
import type { Kernel } from '../kernel/kernel.ts';
import { SHEAVES_INVARIANTS } from '../../model/invariants.ts';
import { SheavesModel } from '../../model/sheaves.ts';
import { kmemCacheCreate } from '../sheaves/destroy.ts';
import { deferFreeObjects, type KmallocCaches } from '../sheaves/nolock.ts';
import { sheavesOps, type SheavesOps } from '../sheaves/ops.ts';
import type { KmemCache } from '../sheaves/pcs.ts';
import { kfreeRcuBatches } from '../sheaves/rcu.ts';
import { KMALLOC_NOLOCK_SITUATIONS } from '../sheaves/situations.ts';
import { BpfUser, bpfUserAlloc, bpfUserCpuDead, bpfUserDestroy, bpfUserFree } from '../sheaves/user.ts';
import { definePolicy, type Policy } from './policy.ts';
import { SHEAVES_BARN_LIMIT } from './slub-sheaves.ts';

export interface NolockState {
  caches: KmallocCaches & { all(): readonly KmemCache[] };
  user: BpfUser;
  model: SheavesModel;
}

/** The kmalloc caches, made at their first use as boot would have made
 *  them (no step, no fault), each judged by one model. */
export function nolockInit(k: Kernel, ops: SheavesOps = sheavesOps()): NolockState {
  deferFreeObjects(k);
  kfreeRcuBatches(k);
  const bySize = new Map<number, KmemCache>();
  const list: KmemCache[] = [];
  const model = new SheavesModel(k, () => list);
  k.audited.push(model);
  const caches = {
    get(size: number): KmemCache {
      let s = bySize.get(size);
      if (!s) {
        s = kmemCacheCreate(k, `kmalloc-${size}`, size, ops);
        s.max_full_sheaves = s.max_empty_sheaves = SHEAVES_BARN_LIMIT;
        s.judge = model;
        bySize.set(size, s);
        list.push(s);
      }
      return s;
    },
    all: () => list,
  };
  return { caches, user: new BpfUser(k, caches), model };
}

export function nolockVariant(name: string, summary: string, over: Partial<SheavesOps>, extra: Partial<Policy<NolockState>>): Policy<NolockState> {
  return definePolicy<NolockState>({ ...kmallocNolock, name, summary, init: (k) => nolockInit(k, { ...sheavesOps(), ...over }), ...extra });
}

export const kmallocNolock = definePolicy<NolockState>({
  name: 'kmalloc-nolock',
  summary: 'kmalloc_nolock()/kfree_nolock() (mm/slub.c, Jan 2026): trylock-only sheaves, barns and list_lock, defer_free llist + irq_work; programs in task, hardirq and NMI context, RCU-delayed element frees, destroy',
  faults: ['kmalloc', 'trylock', 'cpu_offline'],
  promises: SHEAVES_INVARIANTS,
  situations: KMALLOC_NOLOCK_SITUATIONS,
  init: (k) => nolockInit(k),
  alloc: (x, st, size) => bpfUserAlloc(x, st.user, size),
  free: (x, st, obj) => bpfUserFree(x, st.user, obj),
  cpuDead: (x, st, cpu) => bpfUserCpuDead(x, st.user, cpu),
  destroy: (x, st) => bpfUserDestroy(x, st.user),
});
