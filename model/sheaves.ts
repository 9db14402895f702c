// The promises of SLUB with sheaves (spec/sheaves/), judged against its
// concrete state: where every sheaf is, that a CPU's main sheaf exists
// whenever its lock is free, that slabs are counted where they are, that
// kvfree_rcu_barrier_on_cache() waits for every earlier kfree_rcu() of its
// cache, that kmem_cache_destroy() leaves nothing behind, and that the
// memory reserves go only to those allowed them. The structural ones are
// judged at quiescence (audit); the others where the code says what
// happened (SheavesJudge). NoSpinWhereForbidden is judged by the engine at
// the acquire (spec/kernel/nospin.ts).
import type { Context } from '../spec/kernel/context.ts';
import type { Audited, Kernel } from '../spec/kernel/kernel.ts';
import type { Obj } from '../spec/kernel/obj.ts';
import { Violation } from '../spec/kernel/types.ts';
import { gfpName, gfpPfmemallocAllowed, type Gfp } from '../spec/sheaves/gfp.ts';
import type { KmemCache, SheavesJudge, SlabSheaf } from '../spec/sheaves/pcs.ts';
import { virtToSlab } from '../spec/sheaves/slab.ts';
import type { InvariantName } from './invariants.ts';

type Fail = (invariant: InvariantName, detail: string) => void;

/** Every place a sheaf of s is in now. */
export function placesOf(s: KmemCache, sh: SlabSheaf): string[] {
  const out: string[] = [];
  for (const pcs of s.cpu_sheaves ?? []) {
    if (pcs.main === sh) out.push(`${pcs.name}->main`);
    if (pcs.spare === sh) out.push(`${pcs.name}->spare`);
    if (pcs.rcu_free === sh) out.push(`${pcs.name}->rcu_free`);
  }
  for (const n of s.node) {
    const b = n?.barn;
    if (!b) continue;
    for (const f of b.sheaves_full) if (f === sh) out.push(`${b.name}->sheaves_full`);
    for (const e of b.sheaves_empty) if (e === sh) out.push(`${b.name}->sheaves_empty`);
  }
  if (sh.rcu_head.queued) out.push('an RCU callback');
  return out;
}

export class SheavesModel implements Audited, SheavesJudge {
  /** objects kvfree_call_rcu() took and whose callback has not run, with
   *  the sequence number of that call's return (Infinity while the call is
   *  still in progress: a barrier racing with a kfree_rcu() promises
   *  nothing for it, only for the calls that returned before it began) */
  private readonly pending = new Map<Obj, number>();
  private seq = 0;
  /** barriers in progress: the last kfree_rcu() before each began */
  private readonly barriers = new Map<string, number>();

  constructor(
    readonly k: Kernel,
    /** the caches the policy made */
    readonly caches: () => readonly KmemCache[],
  ) {}

  allocated(x: Context, s: KmemCache, obj: Obj, gfp: Gfp): void {
    const slab = virtToSlab(obj);
    if (slab.pfmemalloc && !gfpPfmemallocAllowed(gfp)) {
      throw new Violation('PfmemallocOnlyToReserves', `${x.fn} on cpu${x.cpu} (${x.label}) hands ${obj.name} of pfmemalloc ${slab.name} (${s.name}) to an allocation with ${gfpName(gfp)}, which may not use the reserves`);
    }
  }

  kfreeRcu(_x: Context, _s: KmemCache, obj: Obj): void {
    this.pending.set(obj, Infinity);
  }

  kfreeRcuReturned(_x: Context, _s: KmemCache, obj: Obj): void {
    // its callback may have run already: then there is nothing to wait for
    if (this.pending.has(obj)) this.pending.set(obj, ++this.seq);
  }

  rcuDone(objs: readonly Obj[]): void {
    for (const o of objs) this.pending.delete(o);
  }

  barrierBegin(x: Context, s: KmemCache): void {
    this.barriers.set(`${x.id}:${s.name}`, this.seq);
  }

  barrierEnd(x: Context, s: KmemCache): void {
    const key = `${x.id}:${s.name}`;
    const upTo = this.barriers.get(key) ?? 0;
    this.barriers.delete(key);
    for (const [o, q] of this.pending) {
      if (q <= upTo && virtToSlab(o).cache === s) {
        throw new Violation('KvfreeRcuBarrierComplete', `the kvfree_rcu barrier of ${s.name} by ${x.label} on cpu${x.cpu} returns while ${o.name}, freed with kfree_rcu() before it began, still waits for its RCU callback`);
      }
    }
  }

  shutDown(x: Context, s: KmemCache): void {
    const fail = (what: string): never => {
      throw new Violation('DestroyLeavesNothing', `kmem_cache_destroy(${s.name}) by ${x.label} on cpu${x.cpu}: after __kmem_cache_shutdown() ${what}`);
    };
    for (const pcs of s.cpu_sheaves ?? []) {
      if (pcs.main && pcs.main.size) fail(`${pcs.name}->main (${pcs.main.name}) still holds ${pcs.main.size} object(s)`);
      if (pcs.spare) fail(`${pcs.name}->spare is ${pcs.spare.name}`);
      if (pcs.rcu_free) fail(`${pcs.name}->rcu_free is ${pcs.rcu_free.name}`);
    }
    for (const n of s.node) {
      if (!n) continue;
      if (n.barn && (n.barn.nr_full || n.barn.nr_empty || n.barn.sheaves_full.length || n.barn.sheaves_empty.length)) {
        fail(`${n.barn.name} still holds ${n.barn.sheaves_full.length} full and ${n.barn.sheaves_empty.length} empty sheaves`);
      }
      if (n.nr_slabs || n.nr_partial) fail(`${n.name} still counts ${n.nr_slabs} slab(s), ${n.nr_partial} partial`);
    }
    for (const h of this.k.holders) {
      for (let o = h.head(); o; o = o.next) if (virtToSlab(o).cache === s) fail(`${o.name} is still on ${h.name}`);
    }
    for (const slab of s.slabs) fail(`${slab.name} (node ${slab.node}) was never freed`);
  }

  audit(fail: Fail): void {
    for (const s of this.caches()) {
      if (s.freed || !s.cpu_sheaves) continue;
      for (const pcs of s.cpu_sheaves) {
        if (!pcs.main) fail('MainSheafPresent', `${pcs.name}->main is NULL with the lock free`);
        if (pcs.lock.holder) fail('NoDeadlock', `${pcs.name}->lock held by ${pcs.lock.holder.label} with no operation in flight`);
      }
      const seen = new Set<SlabSheaf>();
      for (const sh of s.sheaves) {
        const at = placesOf(s, sh);
        if (at.length !== 1) fail('SheafInOnePlace', `${sh.name} of ${s.name} is ${at.length ? `in ${at.length} places: ${at.join(', ')}` : 'in no place (lost)'}`);
        seen.add(sh);
      }
      const check = (sh: SlabSheaf | null, where: string): void => {
        if (sh && !seen.has(sh)) fail('SheafInOnePlace', `${where} is ${sh.name}, which was freed`);
      };
      for (const pcs of s.cpu_sheaves) {
        check(pcs.main, `${pcs.name}->main`);
        check(pcs.spare, `${pcs.name}->spare`);
        check(pcs.rcu_free, `${pcs.name}->rcu_free`);
      }
      for (const n of s.node) {
        const b = n?.barn;
        if (!b) continue;
        for (const sh of b.sheaves_full) check(sh, `${b.name}->sheaves_full`);
        for (const sh of b.sheaves_empty) check(sh, `${b.name}->sheaves_empty`);
        if (b.nr_full !== b.sheaves_full.length || b.nr_empty !== b.sheaves_empty.length) {
          fail('SheafInOnePlace', `${b.name} counts ${b.nr_full} full and ${b.nr_empty} empty sheaves, lists ${b.sheaves_full.length} and ${b.sheaves_empty.length}`);
        }
      }
      for (let node = 0; node < s.node.length; node++) {
        const n = s.node[node];
        if (!n) continue;
        let slabs = 0;
        for (const slab of s.slabs) if (slab.node === node) slabs++;
        if (n.nr_slabs !== slabs) fail('SlabCountsMatch', `${n.name}->nr_slabs is ${n.nr_slabs} with ${slabs} slab(s) of that node allocated`);
        for (const slab of n.partial) {
          if (slab.freed || !slab.partial) fail('SlabCountsMatch', `${slab.name} is on ${n.name}->partial but ${slab.freed ? 'freed' : 'not marked SL_partial'}`);
        }
      }
      const cached = (sh: SlabSheaf | null, where: string): void => {
        if (!sh) return;
        for (let i = 0; i < sh.size; i++) {
          const o = sh.objects[i]!;
          if (virtToSlab(o).pfmemalloc) fail('PfmemallocNotCached', `${o.name} of pfmemalloc ${virtToSlab(o).name} sits in ${where} (${sh.name})`);
        }
      };
      for (const pcs of s.cpu_sheaves) {
        cached(pcs.main, `${pcs.name}->main`);
        cached(pcs.spare, `${pcs.name}->spare`);
      }
      for (const n of s.node) {
        const b = n?.barn;
        if (b) for (const sh of b.sheaves_full) cached(sh, `${b.name}->sheaves_full`);
      }
      for (const slab of s.slabs) {
        const out = slab.objects - slab.freelist.length;
        if (slab.inuse !== out) fail('SlabCountsMatch', `${slab.name}->inuse is ${slab.inuse} with ${out} object(s) out of it`);
        if (slab.partial && !s.node[slab.node]?.partial.includes(slab)) fail('SlabCountsMatch', `${slab.name} is marked SL_partial but on no partial list`);
      }
    }
  }
}
