// The modelled clock and its event queue: a binary heap ordered by time,
// then by the order events were scheduled (so two events at the same
// nanosecond always run in the same order: same flags, same numbers).
// Nothing here reads the wall clock.

export interface Event<T> {
  readonly t: number;
  readonly seq: number;
  readonly what: T;
}

export class Clock<T> {
  /** modelled nanoseconds */
  now = 0;
  private seq = 0;
  private readonly heap: Event<T>[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** Schedule `what` at time t (not before now). */
  at(t: number, what: T): void {
    const e: Event<T> = { t: Math.max(t, this.now), seq: this.seq++, what };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  /** The next event, with the clock moved to its time; null when none. */
  next(): Event<T> | null {
    const h = this.heap;
    if (h.length === 0) return null;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    this.now = top.t;
    return top;
  }

  /** The time of the next event (Infinity when none). */
  peek(): number {
    return this.heap.length ? this.heap[0]!.t : Infinity;
  }
}

function before(a: Event<unknown>, b: Event<unknown>): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
