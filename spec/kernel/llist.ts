// include/linux/llist.h. llist_add / llist_del_all are one atomic step each
// (cmpxchg / xchg); the __ variants are plain loads and stores with a
// preemption point between them, so a wrong locking discipline corrupts the
// list here as it would in the kernel. A one-step operation does its work
// at the call and is the step at the `yield*` (oneStep, context.ts).
import { oneStep, type Context } from './context.ts';
import type { Holder } from './kernel.ts';
import { links, type Obj } from './obj.ts';
import { shared, type Gen, type Owner } from './types.ts';
import { acts, reads, report } from './events.ts';

/** the context taking a step (sched.ts `current`, the same shared cell) */
const current = shared('current', () => ({ x: null as unknown, rec: null as { wr: object[]; nwr: number } | null }));

export class LlistHead implements Holder {
  private _first: Obj | null = null;
  /** every change of this list goes through `first` or an Obj's `next` */
  readonly tracked = true;
  private ownerName: string | null = null;
  private fullName = '';
  constructor(
    readonly owner: Owner,
    readonly field: string,
    /** objects on it wait for a grace period (Holder.waitsForGp) */
    readonly waitsForGp = false,
  ) {}
  get first(): Obj | null {
    return this._first;
  }
  set first(v: Obj | null) {
    this._first = v;
    links.version++;
    // a store of head->first is part of the writing step's footprint
    const x = current.rec;
    if (x != null) x.wr[x.nwr++] = this;
  }
  get name(): string {
    // cached: read on every step that touches the list
    if (this.ownerName !== this.owner.name) {
      this.ownerName = this.owner.name;
      this.fullName = `${this.ownerName}.${this.field}`;
    }
    return this.fullName;
  }
  head(): Obj | null {
    return this._first;
  }
}

/** An access of head->first by primitive `op` (a load, or a store). */
function at(x: Context, h: LlistHead, op: string, write: boolean): void {
  x.k.touch(x, h.owner, h.field);
  acts(x, op, h, write);
}

/** An object entering a cache's list has the cache's unit size. */
function sized(x: Context, h: LlistHead, node: Obj): void {
  const u = h.owner.unitSize;
  if (u !== undefined && node.size !== u) {
    report('size-mismatch', `${x.fn} on cpu${x.cpu} (${x.label}) puts ${node.name} (ksize ${node.size}) on ${h.name}, a cache of ${u}-byte units`);
  }
  // a percpu cache: every node is 16 bytes, the unit it carries is what differs
  const p = h.owner.pptrUnit;
  if (p && node.pptrBytes !== p) {
    report('size-mismatch', `${x.fn} on cpu${x.cpu} (${x.label}) puts ${node.name} (a percpu unit of ${node.pptrBytes} bytes) on ${h.name}, a cache of ${p}-byte percpu units`);
  }
}

/** llist_add(): atomic; returns true if the list was empty. */
export function llistAdd(x: Context, node: Obj, h: LlistHead): Gen<boolean> {
  at(x, h, 'llist_add', true);
  sized(x, h, node);
  const first = h.first;
  node.next = first;
  h.first = node;
  x.obj = node;
  x.act = 'put on list';
  return oneStep(x.k.labels ? `llist_add(${node.name})` : '', first === null);
}

/** llist_del_all(): atomic xchg(&head->first, NULL). */
export function llistDelAll(x: Context, h: LlistHead): Gen<Obj | null> {
  at(x, h, 'llist_del_all', true);
  const first = h.first;
  h.first = null;
  x.obj = first;
  x.act = first && 'list taken whole';
  return oneStep('llist_del_all: xchg(&head->first, NULL)', first);
}

/** llist_empty(): one load. */
export function llistEmpty(x: Context, h: LlistHead): Gen<boolean> {
  at(x, h, 'llist_empty', false);
  return oneStep('llist_empty: READ_ONCE(head->first)', h.first === null);
}

/** __llist_add(): load first, then store; not safe against re-entry. */
export function __llistAdd(x: Context, node: Obj, h: LlistHead): Gen<boolean> {
  return __llistAddBatch(x, node, node, h);
}

/** __llist_add_batch(): tail->next = first; head->first = new_first. */
export function* __llistAddBatch(x: Context, newFirst: Obj, newLast: Obj, h: LlistHead): Gen<boolean> {
  at(x, h, '__llist_add', false);
  sized(x, h, newFirst);
  const first = h.first;
  newLast.next = first;
  x.obj = newLast;
  x.act = 'linked';
  yield x.k.labels ? `__llist_add: ${newLast.name}->next = head->first (${first ? first.name : 'NULL'})` : '';
  at(x, h, '__llist_add', true);
  h.first = newFirst;
  x.obj = newFirst;
  x.act = 'put on list';
  yield x.k.labels ? `__llist_add: head->first = ${newFirst.name}` : '';
  return first === null;
}

/** memalloc.c: __llist_del_first(): three plain accesses. */
export function* __llistDelFirst(x: Context, h: LlistHead): Gen<Obj | null> {
  at(x, h, '__llist_del_first', false);
  const entry = h.first;
  x.obj = entry;
  x.act = entry && 'taken off list';
  yield x.k.labels ? `__llist_del_first: entry = head->first (${entry ? entry.name : 'NULL'})` : '';
  if (!entry) return null;
  const next = entry.next;
  x.op = '__llist_del_first';
  reads(x, entry);
  x.obj = entry;
  x.act = 'linked';
  yield x.k.labels ? `__llist_del_first: next = ${entry.name}->next (${next ? next.name : 'NULL'})` : '';
  at(x, h, '__llist_del_first', true);
  h.first = next;
  x.obj = next;
  x.act = next && 'becomes list head';
  yield x.k.labels ? `__llist_del_first: head->first = ${next ? next.name : 'NULL'}` : '';
  return entry;
}

/** __llist_del_all(): load, then store NULL. */
export function* __llistDelAll(x: Context, h: LlistHead): Gen<Obj | null> {
  at(x, h, '__llist_del_all', false);
  const first = h.first;
  x.obj = first;
  x.act = first && 'list taken whole';
  yield x.k.labels ? `__llist_del_all: first = head->first (${first ? first.name : 'NULL'})` : '';
  at(x, h, '__llist_del_all', true);
  h.first = null;
  yield '__llist_del_all: head->first = NULL';
  return first;
}

/** llist_for_each_safe(pos, t, first): reads pos->next before the body
 *  runs, as the macro does. A detached chain is private to its caller, so
 *  the walk itself takes no steps. */
export function* eachSafe(x: Context, first: Obj | null): Generator<Obj, void, void> {
  const limit = x.k.slab.created;
  let n = 0;
  for (let pos = first, t: Obj | null; pos; pos = t) {
    t = pos.next;
    yield pos;
    if (++n > limit) {
      report('on-two-lists', `${x.fn} on cpu${x.cpu} walks a cyclic list through ${pos.name}`);
    }
  }
}
