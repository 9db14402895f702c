// The caches' users. Not kernel code of slub.c: who calls it, in which
// contexts, through which entry points, so every path of the family runs.
//
// slab user (slub-sheaves): syscalls at task level (GFP_KERNEL, may sleep)
// take turns through kmem_cache_alloc(), kmem_cache_alloc_bulk() of 2 or 3
// (the first returned, the rest kept on the user's stash), and
// kmem_cache_alloc() as a reclaim-path task that may use the reserves
// (__GFP_MEMALLOC); frees take turns through kmem_cache_free(),
// kmem_cache_free_bulk() of the object and the whole stash (objects of
// every CPU, so of both nodes: remote objects in one bulk free),
// kfree_rcu() twice, kfree_rcu() followed by kvfree_rcu_barrier() (a user
// waiting for its kfree_rcu()s, which flushes every CPU's rcu sheaf while
// other users run; only by a task alone on its CPU, see below), and
// kmem_cache_free() again. The stash is an llist (llist_add / llist_del_all:
// atomic, any context). A per-CPU irq_work, raised on the next CPU by the
// bulk allocations (irq_work_queue_on(): it lands in the middle of what
// that CPU does, a sheaves lock held or not), is the hardirq user (the RT kthread on PREEMPT_RT): it frees
// one stashed object with kmem_cache_free() and allocates one with
// GFP_ATOMIC onto the stash. RCU callbacks (rcu_free_sheaf(),
// kvfree_rcu_cb()) are the softirq users.
//
// BPF user (kmalloc-nolock): programs at task level (inside their RCU
// read-side section) and in NMI allocate with kmalloc_nolock(). A map
// element is visible to RCU readers, so its free waits for them: the
// program queues call_rcu_tasks_trace() chained to call_rcu() (from NMI
// through an llist and an irq_work, as call_rcu() is not NMI-safe), and the
// callback frees it with kfree_nolock() or, every other time, kfree(). Each
// program also allocates a scratch buffer with kmalloc_nolock() and frees
// it at once with kfree_nolock() in its own context, NMI included (at task
// level every other time with kfree(): a task-level free of a
// kmalloc_nolock() object); a per-CPU irq_work (hardirq) does the same,
// raised by the programs.
import type { Context } from '../kernel/context.ts';
import { initIrqWork, irqWorkQueue, irqWorkSync, IrqWork } from '../kernel/irq_work.ts';
import { irqWorkQueueOn } from '../kernel/irq_work_on.ts';
import type { Holder, Kernel } from '../kernel/kernel.ts';
import { eachSafe, llistAdd, llistDelAll, LlistHead } from '../kernel/llist.ts';
import { chainOf, links, type Obj } from '../kernel/obj.ts';
import { callRcu, callRcuTasksTrace, rcuBarrier, rcuBarrierTasksTrace, RcuHead } from '../kernel/rcupdate.ts';
import type { Gen, Owner } from '../kernel/types.ts';
import { kmemCacheAlloc, kmemCacheAllocBulk } from './alloc.ts';
import { kmemCacheDestroy } from './destroy.ts';
import { slubCpuDead } from './flush.ts';
import { kfree, kmemCacheFree, kmemCacheFreeBulk } from './free.ts';
import { __GFP_MEMALLOC, GFP_ATOMIC, GFP_KERNEL } from './gfp.ts';
import { kfreeNolock, kmallocNolock, type KmallocCaches } from './nolock.ts';
import type { KmemCache } from './pcs.ts';
import { kvfreeCallRcu, kvfreeRcuBarrier } from './rcu.ts';

export class SlabUser implements Owner {
  freed = false;
  readonly name = 'user';
  readonly stash: LlistHead;
  readonly irq: IrqWork[] = [];
  calls = 0;
  frees = 0;
  constructor(
    k: Kernel,
    readonly s: KmemCache,
  ) {
    this.stash = new LlistHead(this, 'stash');
    k.register(this.stash);
    for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
      const w = new IrqWork(this, `irq_work[cpu${cpu}]`, (y) => slabUserIrq(y, this), 'user_irq_work');
      initIrqWork(null, w);
      this.irq.push(w);
    }
  }
}

/** irq_work_queue_on() with preemption off around it, as a user that
 *  must not leave its work claimed and unqueued does (no task can take the
 *  CPU between irq_work_claim() and the enqueue) */
function* raise(x: Context, w: IrqWork, cpu: number): Gen<void> {
  x.preemptCount++;
  try {
    yield* irqWorkQueueOn(x, w, cpu);
  } finally {
    x.preemptCount--;
  }
}

/** A syscall allocates. */
export function* slabUserAlloc(x: Context, u: SlabUser): Gen<Obj | null> {
  const call = u.calls++;
  switch (call % 4) {
    case 1: {
      const p: Obj[] = [];
      if (!(yield* kmemCacheAllocBulk(x, u.s, GFP_KERNEL, 2 + (Math.floor(call / 4) % 2), p))) return null;
      for (const o of p.slice(1)) yield* llistAdd(x, o, u.stash);
      // the hardirq user of the next CPU: it interrupts whatever runs there
      const cpu = (x.cpu + 1) % x.k.cfg.cpus;
      if (x.k.cpus[cpu]!.online) yield* raise(x, u.irq[cpu]!, cpu);
      return p[0]!;
    }
    case 2:
      return yield* kmemCacheAlloc(x, u.s, GFP_KERNEL | __GFP_MEMALLOC);
    default:
      return yield* kmemCacheAlloc(x, u.s, GFP_KERNEL);
  }
}

/** A syscall frees an object it owned. */
export function* slabUserFree(x: Context, u: SlabUser, obj: Obj): Gen<void> {
  const f = u.frees++;
  switch (f % 6) {
    case 1: {
      const rest = [...eachSafe(x, yield* llistDelAll(x, u.stash))];
      yield* kmemCacheFreeBulk(x, u.s, [obj, ...rest]);
      return;
    }
    case 2:
    case 3:
      yield* kvfreeCallRcu(x, obj);
      return;
    case 4:
      yield* kvfreeCallRcu(x, obj);
      // only a task alone on its CPU waits: kworkers are threads of their
      // own in the kernel, but the model bounds the tasks one CPU stacks,
      // and a second waiter above the first would keep out the flush work
      // both wait for
      if (x.k.cpus[x.cpu]!.stack[0] === x) yield* kvfreeRcuBarrier(x, [u.s]);
      return;
    default:
      yield* kmemCacheFree(x, u.s, obj);
  }
}

/** The hardirq user: one stashed object freed, one allocated GFP_ATOMIC */
function* slabUserIrq(x: Context, u: SlabUser): Gen<void> {
  const got = [...eachSafe(x, yield* llistDelAll(x, u.stash))];
  if (got.length) yield* kmemCacheFree(x, u.s, got.shift()!);
  for (const o of got) yield* llistAdd(x, o, u.stash);
  const o = yield* kmemCacheAlloc(x, u.s, GFP_ATOMIC);
  if (o) yield* llistAdd(x, o, u.stash);
}

/** Teardown: the irq_works finish, the stash goes back, then the cache. */
export function* slabUserDestroy(x: Context, u: SlabUser): Gen<void> {
  for (const w of u.irq) yield* irqWorkSync(x, w);
  const rest = [...eachSafe(x, yield* llistDelAll(x, u.stash))];
  if (rest.length) yield* kmemCacheFreeBulk(x, u.s, rest);
  yield* kmemCacheDestroy(x, u.s);
}

export function* slabUserCpuDead(x: Context, u: SlabUser, cpu: number): Gen<void> {
  yield* slubCpuDead(x, [u.s], cpu);
}

/** Objects in flight that are on no list of the kernel's: a Holder, so
 *  Conservation counts them as in flight rather than lost. */
export class SetHolder implements Holder {
  /** every add and delete bumps links.version */
  readonly tracked = true;
  readonly objs = new Set<Obj>();
  constructor(
    readonly name: string,
    readonly waitsForGp = false,
  ) {}
  head(): Obj | null {
    return chainOf(this.objs);
  }
}

/** Map elements waiting for their grace periods and the NMI frees
 *  waiting for the irq_work. */
export class BpfUser implements Owner {
  freed = false;
  readonly name = 'map';
  readonly nmiFreed: LlistHead[] = [];
  readonly irq: IrqWork[] = [];
  readonly waiting = new SetHolder('map elems waiting for RCU', true);
  frees = 0;
  scratch = 0;
  constructor(
    k: Kernel,
    readonly caches: KmallocCaches & { all(): readonly KmemCache[] },
  ) {
    k.register(this.waiting);
    for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
      const h = new LlistHead(this, `nmi_freed[cpu${cpu}]`);
      k.register(h);
      this.nmiFreed.push(h);
      const w = new IrqWork(this, `irq_work[cpu${cpu}]`, (y) => bpfUserIrq(y, this), 'map_irq_work');
      initIrqWork(null, w);
      this.irq.push(w);
    }
  }
}

/** A scratch buffer: kmalloc_nolock(), then kfree_nolock() in x's
 *  context, or at task level every other time kfree() */
function* scratch(x: Context, u: BpfUser, size: number): Gen<void> {
  const o = yield* kmallocNolock(x, u.caches, size);
  if (!o) return;
  if (x.level === 'task' && u.scratch % 4 === 0) yield* kfree(x, o);
  else yield* kfreeNolock(x, o);
}

/** A program (task or NMI) allocates an element, and a scratch buffer
 *  every other time; a task program raises the hardirq user. */
export function* bpfUserAlloc(x: Context, u: BpfUser, size: number): Gen<Obj | null> {
  const o = yield* kmallocNolock(x, u.caches, size);
  if (u.scratch++ % 2) yield* scratch(x, u, size);
  if (x.level === 'task') yield* raise(x, u.irq[x.cpu]!, x.cpu);
  return o;
}

/** An element's free once readers are gone: kfree_nolock(), or kfree()
 *  every other time (softirq). */
function* elemFreeNow(x: Context, u: BpfUser, obj: Obj): Gen<void> {
  u.waiting.objs.delete(obj);
  links.version++;
  if (u.frees++ % 2) yield* kfree(x, obj);
  else yield* kfreeNolock(x, obj);
}

/** call_rcu_tasks_trace() chained to call_rcu(), then the free */
function* elemFreeRcu(x: Context, u: BpfUser, obj: Obj): Gen<void> {
  u.waiting.objs.add(obj);
  links.version++;
  const head = new RcuHead({ name: obj.name, freed: false }, 'rcu');
  yield* callRcuTasksTrace(
    x,
    head,
    function* (y) {
      if (y.k.cfg.rcuTraceImpliesRcuGp) yield* elemFreeNow(y, u, obj);
      else yield* callRcu(y, head, (z) => elemFreeNow(z, u, obj), 'map_elem_free');
    },
    'map_elem_free_tasks_trace',
  );
}

/** A program frees an element: from NMI through the irq_work. */
export function* bpfUserFree(x: Context, u: BpfUser, obj: Obj): Gen<void> {
  if (x.level === 'nmi') {
    yield* llistAdd(x, obj, u.nmiFreed[x.cpu]!);
    yield* irqWorkQueue(x, u.irq[x.cpu]!);
    return;
  }
  yield* elemFreeRcu(x, u, obj);
}

/** The hardirq user: NMI frees to their RCU wait, and a scratch buffer */
function* bpfUserIrq(x: Context, u: BpfUser): Gen<void> {
  for (const o of [...eachSafe(x, yield* llistDelAll(x, u.nmiFreed[x.cpu]!))]) yield* elemFreeRcu(x, u, o);
  const s = u.caches.all()[0];
  if (s) yield* scratch(x, u, s.object_size);
}

/** Teardown (the elements were freed and their callbacks waited for by
 *  callbacks, which the barriers wait for): the irq_works finish, then
 *  every cache. */
export function* bpfUserDestroy(x: Context, u: BpfUser): Gen<void> {
  for (const w of u.irq) yield* irqWorkSync(x, w);
  yield* rcuBarrierTasksTrace(x);
  yield* rcuBarrier(x);
  for (const s of u.caches.all()) yield* kmemCacheDestroy(x, s);
}

export function* bpfUserCpuDead(x: Context, u: BpfUser, cpu: number): Gen<void> {
  yield* slubCpuDead(x, u.caches.all(), cpu);
}
