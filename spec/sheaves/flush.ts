// mm/slub.c, flushing the per-CPU sheaves: pcs_flush_all(),
// __pcs_flush_all_cpu(), has_pcs_used(), flush_cpu_sheaves(),
// flush_all_cpus_locked(), slub_cpu_dead(), and the per-CPU
// struct slub_flush_work with flush_lock they share with
// flush_rcu_sheaves_on_cache() (rcu.ts).
//
// Elided: cpus_read_lock() (the harness takes no CPU offline while a
// cache is being destroyed), slab_mutex and the list of caches
// (slub_cpu_dead() walks the caches the policy created).
import { kfunc, type Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { Mutex, mutexLock, mutexUnlock } from '../kernel/mutex.ts';
import { callRcu } from '../kernel/rcupdate.ts';
import { shared, type Gen, type Owner } from '../kernel/types.ts';
import { Work } from '../kernel/workqueue.ts';
import { flushWork, queueWorkOn } from '../kernel/workqueue_on.ts';
import { cacheHasSheaves, freeEmptySheaf, pcsLock, pcsUnlock, sheafFlushMain, sheafFlushUnused, type KmemCache } from './pcs.ts';
import { flushRcuSheaf, rcuFreeSheafNobarn } from './rcu.ts';

/** DEFINE_PER_CPU(struct slub_flush_work, slub_flush) and flush_lock: one
 *  work per CPU and function (INIT_WORK() gives the one work either
 *  function; flush_lock serialises its users, so two are the same). */
export class SlubFlush implements Owner {
  freed = false;
  readonly name = 'slub_flush';
  readonly flush_lock = new Mutex(this, 'flush_lock');
  /** per CPU: the cache the work is for, whether it is skipped */
  readonly s: (KmemCache | null)[];
  readonly skip: boolean[];
  readonly sheaves: Work[] = [];
  readonly rcu: Work[] = [];
  constructor(k: Kernel) {
    const n = k.cfg.cpus;
    this.s = new Array<KmemCache | null>(n).fill(null);
    this.skip = new Array<boolean>(n).fill(false);
    for (let cpu = 0; cpu < n; cpu++) {
      this.sheaves.push(new Work(this, `slub_flush[cpu${cpu}].work`, (y) => flushCpuSheaves(y, this), 'flush_cpu_sheaves'));
      this.rcu.push(new Work(this, `slub_flush[cpu${cpu}].work`, (y) => flushRcuSheafWork(y, this), 'flush_rcu_sheaf'));
    }
  }
}
const flushes = shared('slubFlush', () => new WeakMap<Kernel, SlubFlush>());
export function slubFlush(k: Kernel): SlubFlush {
  let f = flushes.get(k);
  if (!f) flushes.set(k, (f = new SlubFlush(k)));
  return f;
}

/** pcs_flush_all(): spare and rcu_free off under the lock, then flushed
 *  straight to the slabs; main flushed batch by batch */
export const pcsFlushAll = kfunc('pcs_flush_all', function* (x: Context, s: KmemCache): Gen<void> {
  const pcs = yield* pcsLock(x, s);
  const spare = pcs.spare;
  pcs.spare = null;
  const rcuFree = pcs.rcu_free;
  pcs.rcu_free = null;
  x.touched = pcs.name;
  yield x.k.labels ? `spare = ${spare ? spare.name : 'NULL'}, rcu_free = ${rcuFree ? rcuFree.name : 'NULL'} off ${pcs.name}` : '';
  yield* pcsUnlock(x, s);
  if (spare) {
    yield* sheafFlushUnused(x, s, spare);
    yield* freeEmptySheaf(x, s, spare);
  }
  if (rcuFree) yield* callRcu(x, rcuFree.rcu_head, (y) => rcuFreeSheafNobarn(y, rcuFree), 'rcu_free_sheaf_nobarn');
  yield* sheafFlushMain(x, s);
});

/** flush_cpu_sheaves(): the work, on its CPU */
function* flushCpuSheaves(x: Context, f: SlubFlush): Gen<void> {
  const s = f.s[x.cpu]!;
  if (cacheHasSheaves(s)) yield* pcsFlushAll(x, s);
}

/** flush_rcu_sheaf(): the work, on its CPU (rcu.ts) */
function* flushRcuSheafWork(x: Context, f: SlubFlush): Gen<void> {
  yield* flushRcuSheaf(x, f.s[x.cpu]!);
}

/** has_pcs_used() */
function hasPcsUsed(cpu: number, s: KmemCache): boolean {
  if (!cacheHasSheaves(s)) return false;
  const pcs = s.cpu_sheaves![cpu]!;
  return pcs.spare !== null || pcs.rcu_free !== null || pcs.main!.size > 0;
}

/** flush_all_cpus_locked(): a flush work on every online CPU with
 *  something cached, then wait for each */
export const flushAllCpusLocked = kfunc('flush_all_cpus_locked', function* (x: Context, s: KmemCache): Gen<void> {
  const f = slubFlush(x.k);
  yield* mutexLock(x, f.flush_lock);
  for (const c of x.k.cpus) {
    if (!c.online) continue;
    if (!hasPcsUsed(c.id, s)) {
      f.skip[c.id] = true;
      continue;
    }
    f.skip[c.id] = false;
    f.s[c.id] = s;
    yield* queueWorkOn(x, c.id, f.sheaves[c.id]!);
  }
  for (const c of x.k.cpus) {
    if (!c.online || f.skip[c.id]) continue;
    yield* flushWork(x, f.sheaves[c.id]!);
  }
  yield* mutexUnlock(x, f.flush_lock);
});

/** __pcs_flush_all_cpu(): the CPU is dead, no lock needed */
export const __pcsFlushAllCpu = kfunc('__pcs_flush_all_cpu', function* (x: Context, s: KmemCache, cpu: number): Gen<void> {
  x.k.touch(x, s, 'cpu_sheaves');
  const pcs = s.cpu_sheaves![cpu]!;
  yield* sheafFlushUnused(x, s, pcs.main!);
  if (pcs.spare) {
    const spare = pcs.spare;
    yield* sheafFlushUnused(x, s, spare);
    yield* freeEmptySheaf(x, s, spare);
    pcs.spare = null;
  }
  if (pcs.rcu_free) {
    const r = pcs.rcu_free;
    yield* callRcu(x, r.rcu_head, (y) => rcuFreeSheafNobarn(y, r), 'rcu_free_sheaf_nobarn');
    pcs.rcu_free = null;
  }
});

/** slub_cpu_dead(cpu): every cache with sheaves */
export const slubCpuDead = kfunc('slub_cpu_dead', function* (x: Context, caches: readonly KmemCache[], cpu: number): Gen<void> {
  for (const s of caches) if (!s.freed && cacheHasSheaves(s)) yield* __pcsFlushAllCpu(x, s, cpu);
});
