// mm/slub.c: struct node_barn, a node's full and empty sheaves behind a
// spinlock_t: get_barn(), barn_get_empty_sheaf(), barn_put_empty_sheaf(),
// barn_put_full_sheaf(), barn_replace_empty_sheaf(),
// barn_replace_full_sheaf(), barn_init(), barn_shrink(). The counts are
// read first without the lock (data_race(): one step of its own), then
// again under it; the soft limits MAX_FULL_SHEAVES / MAX_EMPTY_SHEAVES are
// read only racily, as written.
import { kfunc, type Context } from '../kernel/context.ts';
import { numaMemId } from '../kernel/numa.ts';
import { RawSpinlock } from '../kernel/spinlock.ts';
import { spinLockIrqsave, spinTrylockIrqsave, spinUnlockIrqrestore } from '../kernel/spinlock_rt.ts';
import { Violation, type Gen, type Owner } from '../kernel/types.ts';
import { freeEmptySheaf, sheafFlushUnused, type KmemCache, type SlabSheaf } from './pcs.ts';

export const E2BIG = -7;
export const ENOMEM = -12;
export const EBUSY = -16;

export class NodeBarn implements Owner {
  freed = false;
  readonly name: string;
  readonly lock: RawSpinlock;
  /** list_add() puts at the head, list_first_entry() takes the head */
  readonly sheaves_full: SlabSheaf[] = [];
  readonly sheaves_empty: SlabSheaf[] = [];
  nr_full = 0;
  nr_empty = 0;
  constructor(
    readonly cache: KmemCache,
    readonly node: number,
  ) {
    this.name = `${cache.name}->node[${node}]->barn`;
    this.lock = new RawSpinlock(this, 'lock', 'spinlock_t');
  }
}

/** get_barn(): the barn of numa_mem_id()'s kmem_cache_node, or NULL when
 *  that node has none (a memoryless node) */
export function getBarn(x: Context, s: KmemCache): NodeBarn | null {
  x.k.touch(x, s, 'node');
  const n = s.node[numaMemId(x.k, x.cpu)] ?? null;
  if (!n) return null;
  return n.barn;
}

function at(x: Context, b: NodeBarn, what: string): void {
  // a NULL barn (a memoryless node's) oopses here, as in the kernel
  if (b === null) throw new Violation('NoKernelWarn', `BUG: kernel NULL pointer dereference: barn->${what} in ${x.fn} on cpu${x.cpu} (${x.label})`);
  x.k.touch(x, b, what);
  x.touched = `${b.name}.${what}`;
}

/** Each context's last racy read of a barn count (coverage predicates
 *  read it: spec/sheaves/situations.ts) */
export const lastRacyRead = new WeakMap<Context, { barn: NodeBarn; what: 'nr_full' | 'nr_empty'; v: number }>();

/** data_race(barn->nr_*): a racy read, one step */
export function* racy(x: Context, b: NodeBarn, what: 'nr_full' | 'nr_empty'): Gen<number> {
  at(x, b, what);
  const v = b[what];
  lastRacyRead.set(x, { barn: b, what, v });
  yield x.k.labels ? `data_race(${b.name}->${what}) (${v})` : '';
  return v;
}

function* lockBarn(x: Context, b: NodeBarn, allowSpin: boolean): Gen<{ ok: boolean; flags: boolean }> {
  if (allowSpin) return { ok: true, flags: yield* spinLockIrqsave(x, b.lock) };
  return yield* spinTrylockIrqsave(x, b.lock);
}

/** list_add(&sheaf->barn_list, list) */
function listAdd(x: Context, b: NodeBarn, list: SlabSheaf[], sh: SlabSheaf): void {
  x.k.touch(x, sh, 'barn_list');
  list.unshift(sh);
}

export const barnGetEmptySheaf = kfunc('barn_get_empty_sheaf', function* (x: Context, b: NodeBarn, allowSpin: boolean): Gen<SlabSheaf | null> {
  if (!(yield* racy(x, b, 'nr_empty'))) return null;
  const { ok, flags } = yield* lockBarn(x, b, allowSpin);
  if (!ok) return null;
  let empty: SlabSheaf | null = null;
  at(x, b, 'sheaves_empty');
  if (b.nr_empty) {
    empty = b.sheaves_empty.shift()!;
    b.nr_empty--;
  }
  yield x.k.labels ? `empty = ${empty ? empty.name : 'NULL'} off ${b.name}->sheaves_empty (nr_empty ${b.nr_empty})` : '';
  yield* spinUnlockIrqrestore(x, b.lock, flags);
  return empty;
});

export const barnPutEmptySheaf = kfunc('barn_put_empty_sheaf', function* (x: Context, b: NodeBarn, sh: SlabSheaf): Gen<void> {
  const flags = yield* spinLockIrqsave(x, b.lock);
  at(x, b, 'sheaves_empty');
  listAdd(x, b, b.sheaves_empty, sh);
  b.nr_empty++;
  yield x.k.labels ? `list_add(${sh.name}, ${b.name}->sheaves_empty) (nr_empty ${b.nr_empty})` : '';
  yield* spinUnlockIrqrestore(x, b.lock, flags);
});

export const barnPutFullSheaf = kfunc('barn_put_full_sheaf', function* (x: Context, b: NodeBarn, sh: SlabSheaf): Gen<void> {
  const flags = yield* spinLockIrqsave(x, b.lock);
  at(x, b, 'sheaves_full');
  listAdd(x, b, b.sheaves_full, sh);
  b.nr_full++;
  yield x.k.labels ? `list_add(${sh.name}, ${b.name}->sheaves_full) (nr_full ${b.nr_full})` : '';
  yield* spinUnlockIrqrestore(x, b.lock, flags);
});

/** barn_replace_empty_sheaf(): a full sheaf for the empty one, or NULL */
export const barnReplaceEmptySheaf = kfunc('barn_replace_empty_sheaf', function* (x: Context, b: NodeBarn, empty: SlabSheaf, allowSpin: boolean): Gen<SlabSheaf | null> {
  if (!(yield* racy(x, b, 'nr_full'))) return null;
  const { ok, flags } = yield* lockBarn(x, b, allowSpin);
  if (!ok) return null;
  let full: SlabSheaf | null = null;
  at(x, b, 'sheaves_full');
  if (b.nr_full) {
    full = b.sheaves_full.shift()!;
    b.nr_full--;
    // the empty one is still main: it leaves that place in the caller
    b.sheaves_empty.unshift(empty);
    b.nr_empty++;
  }
  yield x.k.labels ? (full ? `${full.name} off ${b.name}->sheaves_full, ${empty.name} on sheaves_empty` : `${b.name}: no full sheaf under the lock`) : '';
  yield* spinUnlockIrqrestore(x, b.lock, flags);
  return full;
});

/** barn_replace_full_sheaf(): an empty sheaf for the full one, or an
 *  error: -E2BIG (too many full), -ENOMEM (no empty), -EBUSY (trylock). */
export const barnReplaceFullSheaf = kfunc('barn_replace_full_sheaf', function* (x: Context, b: NodeBarn, full: SlabSheaf, allowSpin: boolean): Gen<SlabSheaf | number> {
  if ((yield* racy(x, b, 'nr_full')) >= b.cache.max_full_sheaves) return E2BIG;
  if (!(yield* racy(x, b, 'nr_empty'))) return ENOMEM;
  const { ok, flags } = yield* lockBarn(x, b, allowSpin);
  if (!ok) return EBUSY;
  let empty: SlabSheaf | number = ENOMEM;
  at(x, b, 'sheaves_empty');
  if (b.nr_empty) {
    empty = b.sheaves_empty.shift()!;
    b.sheaves_full.unshift(full);
    b.nr_empty--;
    b.nr_full++;
  }
  yield x.k.labels ? (typeof empty === 'number' ? `${b.name}: no empty sheaf under the lock` : `${empty.name} off ${b.name}->sheaves_empty, ${full.name} on sheaves_full`) : '';
  yield* spinUnlockIrqrestore(x, b.lock, flags);
  return empty;
});

/** barn_shrink(): splice both lists off under the lock, then flush and
 *  free every sheaf. */
export const barnShrink = kfunc('barn_shrink', function* (x: Context, s: KmemCache, b: NodeBarn): Gen<void> {
  const flags = yield* spinLockIrqsave(x, b.lock);
  at(x, b, 'sheaves_full');
  const full = b.sheaves_full.splice(0);
  b.nr_full = 0;
  const empty = b.sheaves_empty.splice(0);
  b.nr_empty = 0;
  yield x.k.labels ? `list_splice_init: ${full.length} full, ${empty.length} empty sheaves off ${b.name}` : '';
  yield* spinUnlockIrqrestore(x, b.lock, flags);
  for (const sh of full) {
    yield* sheafFlushUnused(x, s, sh);
    yield* freeEmptySheaf(x, s, sh);
  }
  for (const sh of empty) yield* freeEmptySheaf(x, s, sh);
});
