// An allocator object. Its first word is the llist_node (memalloc.c puts
// `struct llist_node` in front of every object), so the object is the node.
export type ObjState = 'slab' | 'live';

export class Obj {
  next: Obj | null = null;
  state: ObjState = 'live';
  /** percpu flavour: obj[1] = the __alloc_percpu_gfp() pointer, in bytes */
  pptrBytes = 0;
  /** walk mark for the list checks (avoids allocating a Set per step) */
  mark = 0;
  constructor(
    readonly id: number,
    readonly size: number,
  ) {}
  get name(): string {
    return `obj${this.id}`;
  }
}
