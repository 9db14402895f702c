// An allocator object. Its first word is the llist_node (memalloc.c puts
// `struct llist_node` in front of every object), so the object is the node.
import { shared } from './types.ts';

export type ObjState = 'slab' | 'live';

/** Bumped by every write of a list link (Obj.next, LlistHead.first) and by
 *  holder (un)registration: while it stands still no list changed, so the
 *  per-step NeverOnTwoLists walk can be skipped (model/allocator.ts). */
export const links = shared('links', () => ({ version: 0 }));

const OBJ = Symbol.for('allocspec.Obj');
/** the context taking a step (spec/kernel/sched.ts `current`, the same
 *  shared cell) */
const current = shared('current', () => ({ x: null as unknown, rec: null as { wr: object[]; nwr: number } | null }));

export class Obj {
  readonly [OBJ] = true;
  /** recognised by brand: a user policy's copy of this module makes the same objects */
  static [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[OBJ] === true;
  }
  private _next: Obj | null = null;
  state: ObjState = 'live';
  private _pptrBytes = 0;
  /** percpu flavour: obj[1] = the __alloc_percpu_gfp() pointer, in bytes
   *  (a write is part of the writing step's footprint) */
  get pptrBytes(): number {
    return this._pptrBytes;
  }
  set pptrBytes(v: number) {
    const x = current.rec;
    if (x != null) x.wr[x.nwr++] = this;
    this._pptrBytes = v;
  }
  /** walk mark for the list checks (avoids allocating a Set per step) */
  mark = 0;
  /** stable trace name, built once (it is read on every step) */
  readonly name: string;
  constructor(
    readonly id: number,
    /** ksize(): the size the slab gave it; set again when the address is reused */
    public size: number,
  ) {
    this.name = `obj${id}`;
  }
  get next(): Obj | null {
    return this._next;
  }
  set next(v: Obj | null) {
    this._next = v;
    links.version++;
    // the link is part of the writing step's footprint
    const x = current.rec;
    if (x != null) x.wr[x.nwr++] = this;
  }
}

/** What families keep of an object outside it (upstream's cache hint, in
 *  the object's first word while no list holds it): each family registers
 *  a reader, and whoever keys a whole state (the exhaustive mode's state
 *  key) asks every one. Per process, like the objects' brand. */
const outside = shared('objectOutside', () => ({ readers: [] as ((o: Obj) => string | null)[] }));

export function registerObjectState(read: (o: Obj) => string | null): void {
  if (!outside.readers.includes(read)) outside.readers.push(read);
}

/** What the registered families keep of o outside it, as text ('' none). */
export function objectState(o: Obj): string {
  let s = '';
  for (const r of outside.readers) s += r(o) ?? '';
  return s;
}

/** A Holder kept as a set (objects on no list of the kernel's): its objects
 *  linked through `next` in the set's order, for the model's walks; the
 *  first, or null. */
export function chainOf(objs: Iterable<Obj>): Obj | null {
  let first: Obj | null = null;
  let prev: Obj | null = null;
  for (const o of objs) {
    if (prev) {
      if (prev.next !== o) prev.next = o;
    } else first = o;
    prev = o;
  }
  if (prev && prev.next !== null) prev.next = null;
  return first;
}
