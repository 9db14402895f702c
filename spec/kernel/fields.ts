// Plain fields of a freeable structure (c->low_watermark, copy->cache):
// reading or writing one after the structure was freed is a use after
// free, whoever does it (NoUseAfterFree). Structures declare such fields
// with `field(owner, name)` accessors instead of bare properties. Each
// access is also part of the current step's footprint (spec/kernel/
// events.ts): the structure's plain fields, read or written.
import { report } from './events.ts';
import { current } from './sched.ts';
import { type Owner } from './types.ts';
import type { Loc } from './events.ts';

/** Check one access of `owner->name`. */
export function use(owner: Owner, name: string, write = false): void {
  const r = current.rec;
  if (r != null) {
    if (write) r.wr[r.nwr++] = owner;
    else r.rd[r.nrd++] = owner;
  }
  if (!owner.freed) return;
  const x = current.x;
  const who = x ? `${x.fn} on cpu${x.cpu} (${x.label})` : 'the harness';
  report('field-after-free', `${who} ${write ? 'writes' : 'reads'} ${owner.name}->${name} after ${owner.name} was freed`);
}

/** A structure's field that is a list head's link (a batch's chain head):
 *  an access is part of the current step's footprint as that holder's. */
export function useLoc(loc: Loc, write = false): void {
  const r = current.rec;
  if (r != null) {
    if (write) r.wr[r.nwr++] = loc;
    else r.rd[r.nrd++] = loc;
  }
}

/** A plain field of a structure as a step's target (what the trace shows
 *  as touched: `owner.field`), for a step of the spec's own code that
 *  reads or writes it: coverage predicates compare the owner and field. */
export class Field implements Loc {
  constructor(
    readonly owner: Owner,
    readonly field: string,
  ) {}
  get name(): string {
    return `${this.owner.name}.${this.field}`;
  }
}
