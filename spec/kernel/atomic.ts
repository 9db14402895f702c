// asm/local.h and linux/atomic.h: each operation is one atomic step.
// Plain counters (free_cnt++) are a load and a store: see `plainAdd`.
// Each op is one step: its effect at the call, the step at the `yield*`
// (oneStep, spec/kernel/context.ts).
import { oneStep, type Context } from './context.ts';
import type { Gen, Owner } from './types.ts';
import { acts } from './events.ts';

/** local_t / atomic_t / a plain int field of a freeable structure. */
export class Cell {
  v = 0;
  /** the design lets only an NMI find this counter taken (memalloc.c's
   *  `active`): a local_inc_return() above 1 is reported on the context
   *  (Context.foundTaken) for the model to judge */
  nestsOnlyInNmi = false;
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

/** An access of the counter by primitive `op` (a load, or a write). */
function at(x: Context, c: Cell, op: string, write: boolean): void {
  x.k.touch(x, c.owner, c.field);
  acts(x, op, c, write);
}

export function localIncReturn(x: Context, c: Cell): Gen<number> {
  at(x, c, 'local_inc_return', true);
  const v = ++c.v;
  if (v > 1 && c.nestsOnlyInNmi) x.foundTaken = c;
  return oneStep(x.k.labels ? `local_inc_return(&${c.field}) = ${v}` : '', v);
}

export function localDec(x: Context, c: Cell): Gen<void> {
  at(x, c, 'local_dec', true);
  c.v--;
  return oneStep(x.k.labels ? `local_dec(&${c.field})` : '');
}

export function atomicXchg(x: Context, c: Cell, v: number): Gen<number> {
  at(x, c, 'atomic_xchg', true);
  const old = c.v;
  x.old = old;
  c.v = v;
  return oneStep(x.k.labels ? `atomic_xchg(&${c.field}, ${v}) = ${old}` : '', old);
}

export function atomicSet(x: Context, c: Cell, v: number): Gen<void> {
  at(x, c, 'atomic_set', true);
  c.v = v;
  return oneStep(x.k.labels ? `atomic_set(&${c.field}, ${v})` : '');
}

export function atomicRead(x: Context, c: Cell): Gen<number> {
  at(x, c, 'atomic_read', false);
  const v = c.v;
  return oneStep(x.k.labels ? `atomic_read(&${c.field}) = ${v}` : '', v);
}

export function atomicInc(x: Context, c: Cell): Gen<void> {
  at(x, c, 'atomic_inc', true);
  c.v++;
  return oneStep(x.k.labels ? `atomic_inc(&${c.field})` : '');
}

export function atomicDec(x: Context, c: Cell): Gen<void> {
  at(x, c, 'atomic_dec', true);
  c.v--;
  return oneStep(x.k.labels ? `atomic_dec(&${c.field})` : '');
}

/** A plain load (READ_ONCE or a racy read): one step. */
export function load(x: Context, c: Cell): Gen<number> {
  at(x, c, 'load', false);
  const v = c.v;
  return oneStep(x.k.labels ? `load ${c.field} (${v})` : '', v);
}

/** A plain store: one step. */
export function store(x: Context, c: Cell, v: number): Gen<void> {
  at(x, c, 'store', true);
  c.v = v;
  return oneStep(x.k.labels ? `store ${c.field} = ${v}` : '');
}

/** `++c->field` / `--c->field` on a plain int: load, then store, two steps
 *  (the load and store above, written out: one generator, not three). */
export function* plainAdd(x: Context, c: Cell, d: number): Gen<number> {
  at(x, c, 'load', false);
  const loaded = c.v;
  yield x.k.labels ? `load ${c.field} (${loaded})` : '';
  const v = loaded + d;
  at(x, c, 'store', true);
  c.v = v;
  yield x.k.labels ? `store ${c.field} = ${v}` : '';
  return v;
}
