// mm/slub.c with seed 002: struct slub_percpu_array (s->cpu_array), its
// embedded lock taken with pca_spin_trylock()/pca_spin_unlock(), and
// kmem_cache_setup_percpu_array(). On SMP pcp_trylock_prepare/finish are
// empty; pcpu_task_pin() is preempt_disable() on !RT, migrate_disable() on
// RT: the lock is a spinlock_t, so under PREEMPT_RT a task may preempt the
// holder - its trylock then fails and it bypasses the array, which every
// caller must survive; on !RT only interrupts find it held.
// Seed 002 writes no lockdep_assert_held() on objects[]/used: the lock the
// trylock took is their only protection. The spec holds every access to
// that rule (pcaHeld): an access by a context that does not hold the lock
// is judged NoKernelWarn, as the lockdep_assert_held(&pca->lock) the rule
// implies would splat; the kernel as written would only race silently.
import { report } from '../kernel/events.ts';
import type { InvariantName } from '../../model/invariants.ts';
import { Cell } from '../kernel/atomic.ts';
import { WARN_ON_ONCE } from '../kernel/bug.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import type { Audited, Holder, Kernel } from '../kernel/kernel.ts';
import type { Obj } from '../kernel/obj.ts';
import { RawSpinlock, rawSpinTrylock, rawSpinUnlock } from '../kernel/spinlock.ts';
import { shared, type Gen, type Owner } from '../kernel/types.ts';
import { slubOps, type SlubOps } from './ops.ts';

export const EINVAL = -22;
export const ENOMEM = -12;
/** refill_pca()/flush_pca() move objects through a `void *objects[32]` */
export const PCA_BATCH = 32;
/** sizeof(struct slub_percpu_array) before objects[]: lock, count, used */
export const PCA_HEADER = 16;

/** One CPU's struct slub_percpu_array. Its slots are a Holder: the walk
 *  links objects[0..used) through their free pointer, so Conservation
 *  sees them like any list. */
export class SlubPercpuArray implements Holder {
  readonly lock: RawSpinlock;
  readonly used: Cell;
  readonly objects: (Obj | null)[];
  constructor(
    readonly array: PercpuArray,
    readonly cpu: number,
    readonly count: number,
  ) {
    this.lock = new RawSpinlock(array, `cpu_array[cpu${cpu}].lock`, 'spinlock_t');
    this.used = new Cell(array, `cpu_array[cpu${cpu}].used`);
    this.objects = new Array<Obj | null>(count).fill(null);
  }
  get name(): string {
    return `s->cpu_array[cpu${this.cpu}]`;
  }
  head(): Obj | null {
    const n = this.used.v;
    for (let i = 0; i < n; i++) this.objects[i]!.next = i + 1 < n ? this.objects[i + 1]! : null;
    return n ? this.objects[0]! : null;
  }
}

/** The __alloc_percpu() allocation behind s->cpu_array. */
export class PercpuArray implements Owner, Audited {
  freed = false;
  readonly name = 's->cpu_array';
  readonly pcas: SlubPercpuArray[];
  constructor(
    cpus: number,
    readonly count: number,
  ) {
    this.pcas = Array.from({ length: cpus }, (_, cpu) => new SlubPercpuArray(this, cpu, count));
  }
  get bytes(): number {
    return PCA_HEADER + 8 * this.count;
  }
  audit(fail: (invariant: InvariantName, detail: string) => void): void {
    if (this.freed) return;
    for (const p of this.pcas) {
      if (p.lock.holder) fail('NoDeadlock', `${p.name}.lock held by ${p.lock.holder.label} with no operation in flight`);
      for (let i = p.used.v; i < p.count; i++) if (p.objects[i]) fail('Conservation', `${p.name}.objects[${i}] set above used = ${p.used.v}`);
    }
  }
}


/** The part of struct kmem_cache the array touches. */
export class KmemCache implements Owner {
  freed = false;
  readonly name = 's';
  /** SLAB_NO_MERGE: required by kmem_cache_setup_percpu_array() */
  readonly noMerge = true;
  cpu_array: PercpuArray | null = null;
  /**
   * @param ops not a field of the kernel's struct: the cache carries the
   *   functions a variant may replace the way the kernel carries ops
   *   (spec/slub/ops.ts), so that the zoo can install seed 002's as written.
   */
  constructor(
    readonly object_size: number,
    readonly ops: SlubOps = slubOps(),
  ) {}
}

/** The allocation's gfp: GFP_KERNEL from process context, GFP_ATOMIC from
 *  an interrupt or where a user says so (an irq_work kthread on RT). */
export type Gfp = 'GFP_KERNEL' | 'GFP_ATOMIC';
export function gfpOf(x: Context): Gfp {
  return x.level === 'task' ? 'GFP_KERNEL' : 'GFP_ATOMIC';
}

/** in_irq(): hardirq context; nmi_enter() counts as hardirq too. */
export function inIrq(x: Context): boolean {
  return x.level === 'hardirq' || x.level === 'nmi';
}

/** gfpflags_allow_blocking(): task-level callers here pass GFP_KERNEL,
 *  interrupts GFP_ATOMIC (gfpOf), unless the caller passed its own. */
export function allowBlocking(x: Context, gfp: Gfp = gfpOf(x)): boolean {
  return gfp === 'GFP_KERNEL';
}

/** lockdep_assert_no_hardirq(): not in a hardirq (nor an NMI, which
 *  lockdep counts as one). */
export function lockdepAssertNoHardirq(x: Context): void {
  WARN_ON_ONCE(x, x.level === 'hardirq' || x.level === 'nmi', `lockdep_assert_no_hardirq() in ${x.level}`);
}

/** The locking rule of objects[] and used (see the head of this file). */
function pcaHeld(x: Context, pca: SlubPercpuArray, what: string): void {
  const h = pca.lock.holder;
  if (h !== x) {
    report('warn', `lockdep_assert_held(&${pca.name}.lock) in ${x.fn} on cpu${x.cpu} (${x.label}): ${what} while ${h ? `${h.label} (${h.fn}) holds the lock` : 'nobody holds the lock'}`,
    );
  }
}

/** pca_spin_trylock(s->cpu_array): this_cpu_ptr() + spin_trylock(). */
export function* pcaSpinTrylock(x: Context, s: KmemCache): Gen<SlubPercpuArray | null> {
  x.k.touch(x, s, 'cpu_array');
  const pca = s.cpu_array!.pcas[x.cpu]!;
  const ok = yield* rawSpinTrylock(x, pca.lock);
  return ok ? pca : null;
}

export function* pcaSpinUnlock(x: Context, pca: SlubPercpuArray): Gen<void> {
  // lockdep: "bad unlock balance" when the unlocker is not the holder
  const h = pca.lock.holder;
  if (h !== x) {
    report('warn', `lockdep: bad unlock balance: ${x.fn} on cpu${x.cpu} (${x.label}) unlocks ${pca.name}.lock ${h ? `held by ${h.label} (${h.fn})` : 'that nobody holds'}`);
  }
  yield* rawSpinUnlock(x, pca.lock);
}

function at(x: Context, pca: SlubPercpuArray): void {
  x.k.touch(x, pca.array, 'objects');
  x.target = pca;
}

/** The bulk request behind a read of pca->used (alloc_from_pca_bulk()'s
 *  size, free_to_pca_bulk()'s batch): the context and kernel step of the
 *  read, for the coverage predicates (spec/slub/situations.ts). */
export const bulkRead = shared('slubBulkRead', () => ({ x: null as Context | null, step: -1, want: 0 }));

/** object = pca->objects[--pca->used] (under the lock: one step) */
export function* pcaPop(x: Context, pca: SlubPercpuArray): Gen<Obj> {
  at(x, pca);
  pcaHeld(x, pca, 'pops objects[]');
  const i = --pca.used.v;
  const o = pca.objects[i];
  if (i < 0 || !o) report('slot-misuse', `${x.fn} pops ${pca.name}.objects[${i}] with used = ${i + 1}`);
  pca.objects[i] = null;
  x.obj = o;
  x.act = 'taken off list';
  yield `${o.name} = pca->objects[--pca->used] (${i})`;
  return o;
}

/** pca->objects[pca->used++] = object */
export function* pcaPush(x: Context, pca: SlubPercpuArray, o: Obj): Gen<void> {
  at(x, pca);
  pcaHeld(x, pca, 'pushes on objects[]');
  const i = pca.used.v++;
  if (i >= pca.count) report('slot-misuse', `${x.fn} writes ${pca.name}.objects[${i}] past count = ${pca.count}`);
  pca.objects[i] = o;
  x.obj = o;
  x.act = 'put on list';
  yield `pca->objects[pca->used++ (${i})] = ${o.name}`;
}

/** Read pca->used: under the lock, or READ_ONCE() (`racy`) in the
 *  prefill, which says "racy but we don't care". */
export function* pcaUsed(x: Context, pca: SlubPercpuArray, racy = false, want = 0): Gen<number> {
  at(x, pca);
  if (want) {
    bulkRead.x = x;
    bulkRead.step = x.k.steps + 1;
    bulkRead.want = want;
  }
  if (!racy) pcaHeld(x, pca, 'reads used');
  const v = pca.used.v;
  yield `pca->used (${v})`;
  return v;
}

/** kmem_cache_setup_percpu_array(s, count) */
export const kmemCacheSetupPercpuArray = kfunc('kmem_cache_setup_percpu_array', function* (x: Context, s: KmemCache, count: number): Gen<number> {
  if (WARN_ON_ONCE(x, !s.noMerge, 'WARN_ON_ONCE(!(s->flags & SLAB_NO_MERGE))')) return EINVAL;
  if (s.cpu_array) return EINVAL;
  const a = new PercpuArray(x.k.cfg.cpus, count);
  if (!(yield* x.k.slab.allocPercpu(x, a.bytes))) return ENOMEM;
  x.k.slab.structs.add(a);
  registerArray(x.k, a);
  s.cpu_array = a;
  yield `s->cpu_array = __alloc_percpu(struct_size(objects, ${count}))`;
  return 0;
});

function registerArray(k: Kernel, a: PercpuArray): void {
  for (const p of a.pcas) {
    // one CPU's array: objects handed out again at once
    k.register(p, { kind: 'cache', of: a, cpu: p.cpu });
    // the memory bound: an array holds at most count objects (free_to_pca()
    // flushes half when full, refill_pca() fills half when empty)
    k.bounds.push({ owner: a, cpu: p.cpu, slack: () => p.count, formula: 'count (objects[] of one CPU)' });
    k.cells.push(p.used);
  }
  k.audited.push(a);
}

/** free_percpu(s->cpu_array): what __kmem_cache_release() must do. */
export function* freeCpuArray(x: Context, s: KmemCache): Gen<void> {
  const a = s.cpu_array;
  if (!a) return;
  yield* x.k.slab.freePercpu(x, a.bytes);
  a.freed = true;
  x.k.slab.structs.delete(a);
  for (const p of a.pcas) x.k.unregister(p);
  s.cpu_array = null;
  yield 'free_percpu(s->cpu_array)';
}
