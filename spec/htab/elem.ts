// kernel/bpf/hashtab.c: the two element free paths of seed 001's thread
// that go through call_rcu() one element at a time (its flavours (1) and
// the one Hou Tao compares in his reply):
//
//   v6.0 (no BPF allocator): alloc_htab_elem() kmalloc()s the element with
//     GFP_NOWAIT; free_htab_elem() does call_rcu(&l->rcu,
//     htab_elem_free_rcu), which kfree()s it (and free_percpu()s its value
//     in a per-CPU map); htab_map_free() waits with rcu_barrier().
//   call_rcu() to bpf_mem_free(): the element comes from the BPF allocator,
//     and free_htab_elem() does call_rcu() whose callback gives it to
//     bpf_mem_cache_free() (bpf_mem_free() for size buckets), as
//     kernel/bpf/cpumask.c's cpumask_free_cb() did.
//
// A queued rcu_head sits on its CPU's RCU callback list (rcu_data.cblist)
// until the callback runs. The model links the queued elements through
// Obj.next, in queue order: an element is on the callback list or on an
// allocator list, never both (NeverOnTwoLists walks both).
import { kfunc, type Context } from '../kernel/context.ts';
import type { Holder, Kernel } from '../kernel/kernel.ts';
import { links, type Obj } from '../kernel/obj.ts';
import { callRcu, RcuHead, rcuBarrier } from '../kernel/rcupdate.ts';
import type { Gen, Owner } from '../kernel/types.ts';
import type { Situation } from '../policies/policy.ts';

/** The elements whose rcu_head one CPU has queued with call_rcu() and
 *  whose callback has not run yet: rcu_data.cblist, for this map's
 *  elements only (FIFO: a CPU's callbacks of one flavour run in the order
 *  they were queued). */
export class RcuCblist implements Holder {
  readonly tracked = true;
  readonly waitsForGp = true;
  private first: Obj | null = null;
  private tail: Obj | null = null;
  /** queued and not yet invoked */
  n = 0;
  constructor(readonly name: string) {}
  head(): Obj | null {
    return this.first;
  }
  enqueue(o: Obj): void {
    o.next = null;
    if (this.tail) this.tail.next = o;
    else {
      this.first = o;
      links.version++;
    }
    this.tail = o;
    this.n++;
  }
  /** The callback of o runs: o leaves the list (the first, except after a
   *  CPU went offline and its callbacks moved). */
  dequeue(o: Obj): void {
    let prev: Obj | null = null;
    let p = this.first;
    while (p !== null && p !== o) {
      prev = p;
      p = p.next;
    }
    if (p === null) throw new Error(`spec bug: ${o.name} is not on ${this.name}`);
    if (prev === null) {
      this.first = o.next;
      links.version++;
    } else prev.next = o.next;
    if (this.tail === o) this.tail = prev;
    o.next = null;
    this.n--;
  }
}

/** What the call_rcu() free path keeps per map: the per-CPU callback
 *  lists and each element's rcu_head. */
export class HtabRcuFree {
  readonly cblist: RcuCblist[];
  private readonly heads = new WeakMap<Obj, RcuHead>();
  /** the list each queued element is on */
  private readonly on = new WeakMap<Obj, RcuCblist>();
  constructor(k: Kernel) {
    this.cblist = k.cpus.map((c) => new RcuCblist(`rcu_data[cpu${c.id}].cblist`));
    for (const l of this.cblist) k.register(l);
  }
  /** &l->rcu: the rcu_head embedded in the element (one per address) */
  headOf(o: Obj): RcuHead {
    let h = this.heads.get(o);
    if (!h) {
      const owner: Owner = { name: o.name, freed: false };
      this.heads.set(o, (h = new RcuHead(owner, 'rcu')));
    }
    return h;
  }
  queued(x: Context, o: Obj): void {
    const l = this.cblist[x.cpu]!;
    l.enqueue(o);
    this.on.set(o, l);
  }
  invoked(o: Obj): void {
    this.on.get(o)!.dequeue(o);
    this.on.delete(o);
  }
}

/** free_htab_elem(): call_rcu(&l->rcu, cb) (one step); cb runs in softirq
 *  on this CPU after a normal grace period and gets the element back. */
export const freeHtabElem = kfunc(
  'free_htab_elem',
  function* (x: Context, f: HtabRcuFree, o: Obj, cb: (y: Context, o: Obj) => Gen<void>, cbName: string): Gen<void> {
    f.queued(x, o);
    yield* callRcu(
      x,
      f.headOf(o),
      (y) => {
        f.invoked(o);
        return cb(y, o);
      },
      cbName,
    );
  },
);

/** htab_map_free(): "some of free_htab_elem() callbacks for elements of
 *  this map may not have executed. Wait for them." */
export const htabMapFreeBarrier = kfunc('htab_map_free', function* (x: Context, f: HtabRcuFree): Gen<void> {
  yield* rcuBarrier(x);
});

/** The coverage situations of the call_rcu() free path, as predicates
 *  over steps (Situation in spec/policies/policy.ts). */
export const HTAB_RCU_SITUATIONS: readonly Situation[] = [
  {
    name: 'htab:call_rcu-element',
    text: "free_htab_elem() queues an element's rcu_head with call_rcu()",
    fns: ['free_htab_elem'],
    when: (x) => x.op === 'call_rcu',
  },
  {
    name: 'htab:callback-runs',
    text: 'an element callback runs after its grace period',
    // the first step of the softirq that runs htab_elem_free_rcu()
    first: true,
    when: (x) => x.level === 'softirq' && x.fns[0] === 'htab_elem_free_rcu',
  },
  {
    name: 'htab:barrier-waits-callbacks',
    text: "htab_map_free()'s rcu_barrier() starts with element callbacks still queued",
    // its first step is rcu_barrier()'s; the per-CPU lists are the kernel's holders
    entering: ['htab_map_free'],
    when: (_x, k) => k.holders.some((h) => h instanceof RcuCblist && h.n > 0),
  },
];
