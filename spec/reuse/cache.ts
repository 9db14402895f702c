// RFC (seed 001): the fields BPF_MA_REUSE_AFTER_RCU_GP adds to struct
// bpf_mem_cache, and struct bpf_reuse_batch. They hang off the baseline
// cache's `ext` slot; memalloc.c's own fields stay in spec/memalloc/cache.ts.
import type { InvariantName } from '../../model/invariants.ts';
import { Cell } from '../kernel/atomic.ts';
import type { Context } from '../kernel/context.ts';
import type { Audited, Holder, Kernel } from '../kernel/kernel.ts';
import { LlistHead } from '../kernel/llist.ts';
import type { Obj } from '../kernel/obj.ts';
import { RcuHead } from '../kernel/rcupdate.ts';
import type { Aux } from '../kernel/slab.ts';
import { RawSpinlock } from '../kernel/spinlock.ts';
import type { Gen } from '../kernel/types.ts';
import { Work } from '../kernel/workqueue.ts';
import { use, useLoc } from '../kernel/fields.ts';
import type { BpfMemCache } from '../memalloc/cache.ts';
import type { ReuseOps } from './ops.ts';

/** The work function INIT_WORK() binds to c->reuse_work. */
export type ReuseWorkFn = (x: Context, c: BpfMemCache) => Gen<void>;

export class ReuseCache implements Audited {
  readonly reuse_lock: RawSpinlock;
  private _abort_reuse = false;
  readonly reuse_ready_head: LlistHead;
  private _reuse_ready_tail: Obj | null = null;
  readonly wait_for_free: LlistHead;
  readonly prepare_reuse_head: LlistHead;
  private _prepare_reuse_tail: Obj | null = null;
  // plain fields of the cache, read and written through fields.ts
  // (NoUseAfterFree, and a step's footprint)
  get abort_reuse(): boolean {
    use(this.c, 'abort_reuse');
    return this._abort_reuse;
  }
  set abort_reuse(v: boolean) {
    use(this.c, 'abort_reuse', true);
    this._abort_reuse = v;
  }
  get reuse_ready_tail(): Obj | null {
    use(this.c, 'reuse_ready_tail');
    return this._reuse_ready_tail;
  }
  set reuse_ready_tail(v: Obj | null) {
    use(this.c, 'reuse_ready_tail', true);
    this._reuse_ready_tail = v;
  }
  get prepare_reuse_tail(): Obj | null {
    use(this.c, 'prepare_reuse_tail');
    return this._prepare_reuse_tail;
  }
  set prepare_reuse_tail(v: Obj | null) {
    use(this.c, 'prepare_reuse_tail', true);
    this._prepare_reuse_tail = v;
  }
  readonly prepare_reuse_cnt: Cell;
  readonly reuse_cb_in_progress: Cell;
  readonly reuse_work: Work;

  constructor(
    readonly c: BpfMemCache,
    work: ReuseWorkFn,
    workName: string,
    /** the RFC's functions this cache's code calls (spec/reuse/ops.ts) */
    readonly ops: ReuseOps,
  ) {
    this.reuse_lock = new RawSpinlock(c, 'reuse_lock');
    this.reuse_ready_head = new LlistHead(c, 'reuse_ready_head');
    this.wait_for_free = new LlistHead(c, 'wait_for_free');
    this.prepare_reuse_head = new LlistHead(c, 'prepare_reuse_head');
    this.prepare_reuse_cnt = new Cell(c, 'prepare_reuse_cnt');
    this.reuse_cb_in_progress = new Cell(c, 'reuse_cb_in_progress');
    // INIT_WORK(&c->reuse_work, ...)
    this.reuse_work = new Work(c, 'reuse_work', (x) => work(x, c), workName);
  }

  /** The RFC renames call_rcu_in_progress: the same atomic_t, which both
   *  do_call_rcu() and bpf_ma_try_free_reuse_objs() claim. */
  get free_cb_in_progress(): Cell {
    return this.c.call_rcu_in_progress;
  }

  register(k: Kernel): void {
    // reuse_ready: handed out again; the other two wait for a grace period
    k.register(this.reuse_ready_head, this.c.holding('cache'));
    k.register(this.wait_for_free, this.c.holding('gp'));
    k.register(this.prepare_reuse_head, this.c.holding('gp'));
    k.cells.push(this.prepare_reuse_cnt, this.reuse_cb_in_progress);
    k.audited.push(this);
  }

  /** The reuse flavour's memory bound (its own: MEMALLOC_BOUND is not
   *  stated for it), at an idle point: wait_gp_reuse_free() queues
   *  reuse_work once more than high_watermark objects wait, and the
   *  kworker takes the whole prepare_reuse list, so once every kworker ran
   *  prepare_reuse_head holds at most high_watermark objects. More can
   *  never move on: they sit there until destroy while programs ask slab
   *  for new ones. */
  idle(fail: (invariant: InvariantName, detail: string) => void): void {
    if (this.c.freed) return;
    const high = this.c.high_watermark;
    let n = 0;
    for (let o = this.prepare_reuse_head.first; o && n <= high; o = o.next) n++;
    if (n > high) fail('MemoryBound', `${this.c.name}.prepare_reuse_head holds more than high_watermark = ${high} objects after every kworker and callback ran: nothing will move them on (bound: high_watermark, wait_gp_reuse_free())`);
  }

  /** At quiescence no context holds reuse_lock. */
  audit(fail: (invariant: InvariantName, detail: string) => void): void {
    if (this.c.freed) return;
    if (this.reuse_lock.holder) fail('NoDeadlock', `${this.c.name}.reuse_lock still held by ${this.reuse_lock.holder.label} at quiescence`);
  }
}

/** The RFC state of a cache (set up by bpfMaReuseInit). */
export function reuseOf(c: BpfMemCache): ReuseCache {
  return c.ext as ReuseCache;
}

/** struct bpf_reuse_batch: a kmalloc'd chain head/tail and an rcu_head.
 *  While it owns the chain, `holder` is registered so NeverOnTwoLists and
 *  Conservation see the objects in flight. */
export class BpfReuseBatch {
  readonly rcu: RcuHead;
  private _head: Obj | null = null;
  private _tail: Obj | null = null;
  readonly holder: Holder;
  // the chain it owns: an access is the holder's, in a step's footprint
  get head(): Obj | null {
    useLoc(this.holder);
    return this._head;
  }
  set head(v: Obj | null) {
    useLoc(this.holder, true);
    this._head = v;
  }
  get tail(): Obj | null {
    useLoc(this.holder);
    return this._tail;
  }
  set tail(v: Obj | null) {
    useLoc(this.holder, true);
    this._tail = v;
  }
  constructor(
    readonly aux: Aux,
    readonly c: BpfMemCache,
    /** stable label for traces: batch0, batch1, ... per kernel */
    label: string,
  ) {
    this.rcu = new RcuHead(aux);
    this.holder = { name: `${label}(${c.name})`, head: () => this._head };
  }
}
