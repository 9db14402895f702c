// include/linux/llist.h and lib/llist.c: the lock-free operations on a list
// that several CPUs write at once (memalloc.c's *_ttrace lists since objects
// go back to the cache that allocated them, c->tgt).
//
// llist_del_first() is a cmpxchg loop and is modelled as its separate
// accesses, so the ABA that lib/llist.c warns about is reachable:
//
//   entry = smp_load_acquire(&head->first);           step 1
//   do {
//           if (entry == NULL) return NULL;
//           next = READ_ONCE(entry->next);            step 2
//   } while (!try_cmpxchg(&head->first, &entry, next)); step 3 (on failure
//                                                     entry = head->first)
//
// Between step 2 and step 3 another CPU may pop `entry` (llist_del_all),
// return it to slab, get the same address back from kmalloc (spec/kernel/
// slab.ts hands out the most recently freed address of a kmalloc cache
// first) and push it again: step 3 then succeeds and installs a stale `next`.
// "The same address" is the same Obj: an object identity is an address, and
// slab reuse gives an identity back.
//
// llist_add() and llist_add_batch() are one step each: the new nodes are
// private to the adder until its cmpxchg succeeds, so the loop is
// linearisable at that cmpxchg. llist_del_all() is one xchg.
//
// Every write through this file stamps the list with the writing CPU, so
// llist_del_first() can tell whether another CPU wrote the list between its
// first load and its cmpxchg; its cmpxchg step records what it found
// (lastCmpxchg(), read by the coverage situations in spec/kernel/
// situations.ts: `llist_del_first-raced-other-cpu`, `-aba`, `-retry`).
// Writes through spec/kernel/llist.ts do not stamp: code that shares a list
// between CPUs uses this file for all of its atomic operations on it.
import type { Context } from './context.ts';
import { llistAdd as llistAddAtomic, llistDelAll as llistDelAllAtomic, type LlistHead } from './llist.ts';
import type { Obj } from './obj.ts';
import { shared, type Gen } from './types.ts';
import { acts, report } from './events.ts';

/** Write sequence numbers, per process (a user policy's copy of this
 *  module must count with the same clock). */
const clock = shared('llistCmpxchgClock', () => ({ seq: 0 }));

/** Per list: the sequence number of the last write by each CPU. */
const stamps = new WeakMap<LlistHead, number[]>();

function stamp(x: Context, h: LlistHead): void {
  let s = stamps.get(h);
  if (!s) stamps.set(h, (s = []));
  s[x.cpu] = ++clock.seq;
}

/** Did a CPU other than x's write h after sequence number `since`? */
function otherCpuWrote(x: Context, h: LlistHead, since: number): boolean {
  const s = stamps.get(h);
  if (!s) return false;
  for (let cpu = 0; cpu < s.length; cpu++) if (cpu !== x.cpu && (s[cpu] ?? 0) > since) return true;
  return false;
}

/** What llist_del_first()'s last cmpxchg step found, as data beside its
 *  event: the context and kernel step it was taken in, whether another
 *  CPU wrote the list since the load it compares against, whether it
 *  succeeded, and whether a success installed a stale next (the ABA). */
export interface DelFirstCmpxchg {
  x: Context | null;
  step: number;
  head: LlistHead | null;
  raced: boolean;
  ok: boolean;
  aba: boolean;
}
const last = shared('llistCmpxchgLast', (): DelFirstCmpxchg => ({ x: null, step: -1, head: null, raced: false, ok: false, aba: false }));

/** The cmpxchg step x just took in llist_del_first(), if its last step was one. */
export function lastCmpxchg(x: object, k: { steps: number }): DelFirstCmpxchg | null {
  // the context itself, not its id: ids start again with every kernel
  return last.x === x && last.step === k.steps ? last : null;
}

function at(x: Context, h: LlistHead, op: string, write: boolean): void {
  x.k.touch(x, h.owner, h.field);
  acts(x, op, h, write);
}

/** llist_add(): atomic; returns true if the list was empty. */
export function* llistAdd(x: Context, node: Obj, h: LlistHead): Gen<boolean> {
  stamp(x, h);
  return yield* llistAddAtomic(x, node, h);
}

/** llist_del_all(): atomic xchg(&head->first, NULL). */
export function* llistDelAll(x: Context, h: LlistHead): Gen<Obj | null> {
  stamp(x, h);
  return yield* llistDelAllAtomic(x, h);
}

/** llist_add_batch(new_first, new_last, head): new_last->next = first;
 *  cmpxchg(&head->first, first, new_first). One step (see above). */
export function* llistAddBatch(x: Context, newFirst: Obj, newLast: Obj | null, h: LlistHead): Gen<boolean> {
  at(x, h, 'llist_add_batch', true);
  if (!newLast) {
    // an oops is a kernel warning at least: named, not a crash of the model
    report('oops', `BUG: NULL pointer dereference: llist_add_batch(${newFirst.name}, NULL) in ${x.fn} on cpu${x.cpu} (${x.label})`);
  }
  stamp(x, h);
  const first = h.first;
  newLast.next = first;
  h.first = newFirst;
  x.obj = newFirst;
  x.act = 'put on list';
  yield x.k.labels ? `llist_add_batch(${newFirst.name}..${newLast.name})` : '';
  return first === null;
}

/** llist_del_first(): the cmpxchg loop, one access per step. Safe against
 *  concurrent llist_add(); against llist_del_all() only up to the ABA. */
export function* llistDelFirst(x: Context, h: LlistHead): Gen<Obj | null> {
  at(x, h, 'llist_del_first', false);
  let since = clock.seq;
  let entry = h.first;
  yield x.k.labels ? `llist_del_first: entry = head->first (${entry ? entry.name : 'NULL'})` : '';
  for (;;) {
    if (!entry) return null;
    const next = entry.next;
    acts(x, 'llist_del_first', entry, false);
    yield x.k.labels ? `llist_del_first: next = ${entry.name}->next (${next ? next.name : 'NULL'})` : '';
    at(x, h, 'llist_del_first', true);
    // the step, as data for coverage (its reader runs once it is taken)
    last.x = x;
    last.step = x.k.steps + 1;
    last.head = h;
    last.raced = otherCpuWrote(x, h, since);
    last.ok = h.first === entry;
    // ABA: entry left the list and came back with another successor
    last.aba = last.ok && entry.next !== next;
    if (h.first === entry) {
      h.first = next;
      x.obj = entry;
      x.act = 'taken off list';
      yield x.k.labels ? `llist_del_first: cmpxchg(&head->first, ${entry.name}, ${next ? next.name : 'NULL'}) succeeds` : '';
      return entry;
    }
    const was = entry;
    since = clock.seq;
    entry = h.first;
    yield x.k.labels ? `llist_del_first: cmpxchg(&head->first, ${was.name}, ...) fails: entry = ${entry ? entry.name : 'NULL'}` : '';
  }
}
