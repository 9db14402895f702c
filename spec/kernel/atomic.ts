// asm/local.h and linux/atomic.h: each operation is one atomic step.
// Plain counters (free_cnt++) are a load and a store: see `Plain`.
import type { Context } from './context.ts';
import type { Gen, Owner } from './types.ts';

/** local_t / atomic_t / a plain int field of a freeable structure. */
export class Cell {
  v = 0;
  private ownerName: string | null = null;
  private fullName = '';
  constructor(
    readonly owner: Owner,
    readonly field: string,
  ) {}
  /** `owner.field`, cached: read on every step that touches the cell */
  get name(): string {
    if (this.ownerName !== this.owner.name) {
      this.ownerName = this.owner.name;
      this.fullName = `${this.ownerName}.${this.field}`;
    }
    return this.fullName;
  }
}

function at(x: Context, c: Cell): void {
  x.k.touch(x, c.owner, c.field);
  x.touched = c.name;
}

export function* localIncReturn(x: Context, c: Cell): Gen<number> {
  at(x, c);
  const v = ++c.v;
  yield `local_inc_return(&${c.field}) = ${v}`;
  return v;
}

export function* localDec(x: Context, c: Cell): Gen<void> {
  at(x, c);
  c.v--;
  yield `local_dec(&${c.field})`;
}

export function* atomicXchg(x: Context, c: Cell, v: number): Gen<number> {
  at(x, c);
  const old = c.v;
  c.v = v;
  yield `atomic_xchg(&${c.field}, ${v}) = ${old}`;
  return old;
}

export function* atomicSet(x: Context, c: Cell, v: number): Gen<void> {
  at(x, c);
  c.v = v;
  yield `atomic_set(&${c.field}, ${v})`;
}

export function* atomicRead(x: Context, c: Cell): Gen<number> {
  at(x, c);
  const v = c.v;
  yield `atomic_read(&${c.field}) = ${v}`;
  return v;
}

export function* atomicInc(x: Context, c: Cell): Gen<void> {
  at(x, c);
  c.v++;
  yield `atomic_inc(&${c.field})`;
}

export function* atomicDec(x: Context, c: Cell): Gen<void> {
  at(x, c);
  c.v--;
  yield `atomic_dec(&${c.field})`;
}

/** A plain load (READ_ONCE or a racy read): one step. */
export function* load(x: Context, c: Cell): Gen<number> {
  at(x, c);
  const v = c.v;
  yield `load ${c.field} (${v})`;
  return v;
}

/** A plain store: one step. */
export function* store(x: Context, c: Cell, v: number): Gen<void> {
  at(x, c);
  c.v = v;
  yield `store ${c.field} = ${v}`;
}

/** `++c->field` / `--c->field` on a plain int: load, then store. */
export function* plainAdd(x: Context, c: Cell, d: number): Gen<number> {
  const v = (yield* load(x, c)) + d;
  yield* store(x, c, v);
  return v;
}
