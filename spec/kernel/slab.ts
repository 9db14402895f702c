// mm/slab: kmalloc/kfree of allocator objects, other kmalloc'd structures,
// and __alloc_percpu_gfp/free_percpu bytes. GFP_NOWAIT failures are
// injected as faults; the pool size bounds live objects. kmalloc and kfree
// of an object are one step each, taken at the `yield*` (oneStep).
import { noStep, oneStep, type Context } from './context.ts';
import type { Kernel } from './kernel.ts';
import { Obj } from './obj.ts';
import { mightSleep } from './might_sleep.ts';
import { type Gen, type Owner } from './types.ts';
import { acts, reads, writes, type Loc, report } from './events.ts';

/** Injectable faults (BRIEF §1): GFP_NOWAIT kmalloc failure (also any
 *  kmalloc'd batch or copy), __alloc_percpu_gfp failure, spin_trylock
 *  failure, and a CPU going offline (its works run on another CPU). */
export type FaultKind = 'kmalloc' | 'percpu' | 'trylock' | 'cpu_offline' | 'page' | 'vmap';
export const FAULT_KINDS: readonly FaultKind[] = ['kmalloc', 'percpu', 'trylock', 'cpu_offline', 'page', 'vmap'];

/** A kmalloc'd structure that is not an allocator object (a batch, a copy
 *  of bpf_mem_alloc). Freeing it makes later touches use-after-free. */
export class Aux implements Owner {
  freed = false;
  constructor(readonly name: string) {}
}

/** kmalloc_size_roundup(): the kmalloc cache an allocation of `size` bytes
 *  comes from, which is what ksize() reports (kmalloc-8 ... kmalloc-8192 with
 *  the 96 and 192 caches; whole power-of-two pages above). */
export function kmallocSizeRoundup(size: number): number {
  if (size <= 8) return 8;
  if (size > 64 && size <= 96) return 96;
  if (size > 128 && size <= 192) return 192;
  let n = 16;
  while (n < size) n *= 2;
  return n;
}

/** A percpu allocator serving __alloc_percpu_gfp()/free_percpu(). */
export interface PercpuBackend {
  alloc(x: Context | null, size: number, align: number): Gen<unknown>;
  free(x: Context | null, pptr: unknown): Gen<void>;
  /** the allocator's own structures (its chunks, maps, locks), which the
   *  exhaustive mode's state key walks as it walks a policy's state
   *  (harness/statekey.ts): a closure's captures are not keyed */
  readonly state?: unknown;
}

export class Slab implements Loc {
  /** a step's footprint names the slab (its pools, counts, armed faults) */
  readonly name = 'slab';
  /** __alloc_percpu_gfp()'s bytes, as a footprint names them */
  readonly percpu: Loc = { name: 'percpu' };
  /** objects ever created; ids are 0..created-1 */
  created = 0;
  live = 0;
  peakLive = 0;
  percpuBytes = 0;
  peakPercpuBytes = 0;
  /** freed addresses by kmalloc cache (ksize): a later kmalloc of the same
   *  cache gets the most recently freed one back, as SLUB's freelist does,
   *  so an object identity can re-enter a list it left (ABA) */
  private readonly free = new Map<number, Obj[]>();
  readonly armed: Record<FaultKind, number> = { kmalloc: 0, percpu: 0, trylock: 0, cpu_offline: 0, page: 0, vmap: 0 };
  readonly all: Obj[] = [];
  /** kmalloc'd or percpu structures not yet freed (caches, batches, copies) */
  readonly structs = new Set<Owner>();

  constructor(private readonly k: Kernel) {}

  /** faults consumed so far */
  faultsHit = 0;
  /** told of each armed fault as it is consumed (the harness counts the
   *  faults it injects: harness/coverage.ts) */
  onFault: ((kind: FaultKind) => void) | null = null;
  /** allocations refused because the pool was exhausted, so far */
  exhausted = 0;

  /** The freed addresses per kmalloc cache, in reuse order (state keys). */
  freeLists(): [number, number[]][] {
    return [...this.free].sort((a, b) => a[0] - b[0]).map(([size, pool]) => [size, pool.map((o) => o.id)]);
  }

  /** Consume an armed fault of this kind, if any (x: the step that asks
   *  reads the armed faults, and writes them when it consumes one). */
  fails(kind: FaultKind, x: Context | null = null): boolean {
    if (x !== null) reads(x, this);
    if (this.armed[kind] > 0) {
      if (x !== null) writes(x, this);
      this.armed[kind]--;
      this.faultsHit++;
      if (this.onFault !== null) this.onFault(kind);
      return true;
    }
    return false;
  }

  /** kmalloc_node(size, gfp) of an allocator object: GFP_NOWAIT (the
   *  default) or GFP_KERNEL, which may sleep (might_sleep()). */
  kmalloc(x: Context | null, size: number, gfp: 'GFP_NOWAIT' | 'GFP_KERNEL' = 'GFP_NOWAIT'): Gen<Obj | null> {
    if (gfp === 'GFP_KERNEL' && x) mightSleep(x, `kmalloc(${size}, GFP_KERNEL)`);
    let o: Obj | null = null;
    if (this.live >= this.k.cfg.maxObjects) this.exhausted++;
    else if (!this.fails('kmalloc')) {
      const ksize = kmallocSizeRoundup(size);
      o = this.free.get(ksize)?.pop() ?? null;
      if (o === null) {
        o = new Obj(this.created++, ksize);
        this.all.push(o);
      }
      o.state = 'live';
      o.next = null;
      this.live++;
      if (this.live > this.peakLive) this.peakLive = this.live;
    }
    if (!x) return noStep(o);
    acts(x, 'kmalloc', this, true);
    if (o) writes(x, o);
    x.obj = o;
    x.act = o && 'from slab';
    return oneStep(x.k.labels ? `kmalloc(${size}) = ${o ? o.name : 'NULL'}` : '', o);
  }

  /** kfree(obj): returns an allocator object to slab. */
  kfree(x: Context | null, o: Obj): Gen<void> {
    if (o.state === 'slab') {
      report('double-free', `${x ? x.fn : 'boot'} kfree(${o.name}) but ${o.name} is already in slab (double free)`);
    }
    this.k.observer?.kfree(x, o);
    o.state = 'slab';
    this.live--;
    let pool = this.free.get(o.size);
    if (!pool) this.free.set(o.size, (pool = []));
    pool.push(o);
    if (!x) return noStep(undefined);
    acts(x, 'kfree', this, true);
    writes(x, o);
    x.obj = o;
    x.act = 'to slab';
    return oneStep(x.k.labels ? `kfree(${o.name})` : '');
  }

  /** kmalloc of a non-object structure (GFP_KERNEL or NOWAIT; may fail). */
  *kmallocAux(x: Context, name: string): Gen<Aux | null> {
    const a = this.fails('kmalloc') ? null : new Aux(name);
    if (a) this.structs.add(a);
    acts(x, 'kmalloc', this, true);
    yield x.k.labels ? `kmalloc(sizeof(${name})) = ${a ? name : 'NULL'}` : '';
    return a;
  }

  *kfreeAux(x: Context, a: Aux): Gen<void> {
    if (a.freed) report('double-free', `${x.fn} kfree(${a.name}) twice`);
    a.freed = true;
    this.structs.delete(a);
    acts(x, 'kfree', this, true);
    writes(x, a);
    yield x.k.labels ? `kfree(${a.name})` : '';
  }

  /** Who serves __alloc_percpu_gfp/free_percpu: null = this engine's
   *  byte count; a policy may plug in a percpu allocator of its own. */
  percpuBackend: PercpuBackend | null = null;

  /** __alloc_percpu_gfp(size, 8, GFP_NOWAIT) for one unit: size x cpus
   *  bytes. Returns the percpu pointer (any truthy value), or null. */
  *allocPercpu(x: Context | null, unitSize: number): Gen<unknown> {
    if (this.percpuBackend) {
      const p = yield* this.percpuBackend.alloc(x, unitSize, 8);
      if (p !== null) this.percpuAccount(unitSize * this.k.cfg.cpus);
      return p;
    }
    const ok = !this.fails('percpu');
    if (ok) this.percpuAccount(unitSize * this.k.cfg.cpus);
    if (x) {
      acts(x, '__alloc_percpu_gfp', this.percpu, true);
      writes(x, this);
      yield x.k.labels ? `__alloc_percpu_gfp(${unitSize}) = ${ok ? 'pptr' : 'NULL'}` : '';
    }
    return ok ? true : null;
  }

  *freePercpu(x: Context | null, unitSize: number, pptr: unknown = true): Gen<void> {
    this.percpuAccount(-unitSize * this.k.cfg.cpus);
    if (this.percpuBackend) return yield* this.percpuBackend.free(x, pptr);
    if (x) {
      acts(x, 'free_percpu', this.percpu, true);
      yield x.k.labels ? `free_percpu(${unitSize})` : '';
    }
  }

  /** obj[1] of a percpu object: the pointer __alloc() got for it */
  readonly pptrOf = new WeakMap<Obj, unknown>();

  percpuAccount(bytes: number): void {
    this.percpuBytes += bytes;
    if (this.percpuBytes > this.peakPercpuBytes) this.peakPercpuBytes = this.percpuBytes;
  }
}
