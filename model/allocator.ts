// The abstract allocator: what any allocator promises, whatever its lists.
// It owns the user's view (which objects programs own, which readers hold
// references) and checks the spec's concrete state against it.
import type { Context } from '../spec/kernel/context.ts';
import type { Holder, Kernel, Observer } from '../spec/kernel/kernel.ts';
import { links, type Obj } from '../spec/kernel/obj.ts';
import { placeOf, Violation } from '../spec/kernel/types.ts';
import type { Witness } from '../spec/kernel/facts.ts';
import type { InvariantName } from './invariants.ts';
// the engine's facts are judged by the model wherever a model runs
import './judges.ts';

/** What the model touches of ownership (see AbstractAllocator.spy). */
export interface ModelSpy {
  allocated(x: Context, obj: Obj): void;
  released(obj: Obj, origin: number | undefined): void;
  allocFailed(x: Context): void;
  kfree(obj: Obj): void;
}

export class AbstractAllocator implements Observer {
  /** objects owned by programs (held in a map), in allocation order */
  readonly owned: Obj[] = [];
  /** per owned object, the CPU of the program it was handed to (the
   *  exhaustive alphabet's free and lookup letters name objects by it) */
  readonly origin = new Map<Obj, number>();
  /** per freed object: normal RCU grace periods that must complete before reuse */
  private readonly reuseAfter = new Map<Obj, number>();
  readonly checkReuse: boolean;
  /** objects a program gave back through bpf_mem_free_rcu() (freeRcu) and
   *  not handed out since: whatever the policy promises, that call's
   *  contract is no reuse before a normal RCU grace period */
  private readonly freedViaRcu = new Set<Obj>();
  /** per object a program gave back and the allocator has not handed out
   *  again: the Rcu.sections stamp at that release. The map no longer
   *  holds the object after it, so only the read-side sections already
   *  open then (begun at a stamp <= this one) could have looked it up. */
  private readonly releasedAt = new Map<Obj, number>();
  /** the section flavours the policy's path to slab waits for (RcuSafety):
   *  memalloc.c's goes through an RCU tasks trace grace period, then a
   *  normal one (or one the first implies), so both kinds of reader count;
   *  a design whose contract makes sleepable readers take
   *  bpf_rcu_read_lock() (sleepableReadersTakeRcu) promises only the
   *  normal one, and only normal sections count */
  traceReaders = true;

  /** MemoryBound: how many objects each CPU's programs own now and at
   *  most at once (the CPU each was allocated on: origin) */
  private readonly ownedOn: number[];
  private readonly peakOn: number[];
  /** allocations programs made on each CPU */
  private readonly allocsOn: number[];

  constructor(
    private readonly k: Kernel,
    promises: readonly InvariantName[],
    /** the policy's declared header: ObjectFitsRequest is judged if set */
    private readonly header?: number,
  ) {
    this.checkReuse = promises.includes('NoReuseBeforeGracePeriod');
    this.ownedOn = k.cpus.map(() => 0);
    this.peakOn = k.cpus.map(() => 0);
    this.allocsOn = k.cpus.map(() => 0);
    k.observer = this;
    k.onStep = () => this.neverOnTwoListsIfChanged();
  }

  /** links.version at the last walk that passed: -1 = none yet */
  private walkedAt = -1;

  /** The per-step check, incremental: a walk that passed stays passed
   *  until a list link changes (or an untracked holder is registered). */
  private neverOnTwoListsIfChanged(): void {
    if (links.version === this.walkedAt && this.k.untrackedHolders === 0) return;
    this.neverOnTwoLists();
  }

  private fail(inv: InvariantName, detail: string, w?: Partial<Witness>): never {
    throw new Violation(inv, detail, w);
  }

  /** Told what the model reads and writes of ownership as a command runs
   *  (the exhaustive mode's footprints: harness/exhaustive/sleep.ts);
   *  null: nobody asks */
  spy: ModelSpy | null = null;

  /** Known findings among OBSERVATIONS: noted here instead of thrown */
  tolerate: ReadonlySet<string> = new Set();
  onTolerated: ((v: Violation) => void) | null = null;

  /** Judge an observation: throw, or note a tolerated known finding. */
  private observe(inv: InvariantName, detail: string, w: Partial<Witness>): void {
    const v = new Violation(inv, detail, w);
    // a known finding only where its signature matches what happened
    if (this.tolerate.has(inv) && (this.excuses?.(v) ?? true)) this.onTolerated?.(v);
    else throw v;
  }

  /** Does a known finding's signature match this observation? (set by the
   *  harness from the policy's findings; unset: every tolerated one does) */
  excuses: ((v: Violation) => boolean) | null = null;

  /** The allocator returned obj to a program on x that asked for `size`
   *  bytes; `header` is the policy's declared header (ObjectFitsRequest is
   *  judged only for policies that declare one). */
  allocated(x: Context, obj: Obj, size = 0): void {
    this.spy?.allocated(x, obj);
    x.foundTaken = null;
    if (this.header !== undefined && size > 0) {
      const usable = obj.pptrBytes > 0 ? obj.pptrBytes : obj.size - this.header;
      if (usable < size) {
        this.fail(
          'ObjectFitsRequest',
          `${x.fn} handed ${obj.name} (${obj.pptrBytes > 0 ? `percpu unit of ${obj.pptrBytes}` : `ksize ${obj.size}, header ${this.header}`}) to ${x.label} on cpu${x.cpu}, which asked for ${size} bytes`,
          { at: placeOf(x), subjects: [obj.name] },
        );
      }
    }
    if (this.owned.includes(obj)) {
      this.fail('ExclusiveOwnership', `${x.fn} returned ${obj.name} to ${x.label} on cpu${x.cpu}, but ${obj.name} is still owned`, { at: placeOf(x), subjects: [obj.name] });
    }
    if (obj.state === 'slab') {
      this.fail('Conservation', `${x.fn} returned ${obj.name} to ${x.label} on cpu${x.cpu}, but ${obj.name} was already freed to slab`, { at: placeOf(x), subjects: [obj.name] });
    }
    const after = this.reuseAfter.get(obj);
    if (after !== undefined) {
      const viaRcu = this.freedViaRcu.has(obj);
      if ((this.checkReuse || viaRcu) && this.k.rcu.rcu.completed < after) {
        this.fail(
          'NoReuseBeforeGracePeriod',
          `${x.fn} hands ${obj.name} to ${x.label} on cpu${x.cpu} before a grace period passed since it was freed${viaRcu ? ' with bpf_mem_free_rcu()' : ''}`,
          { at: placeOf(x), subjects: [obj.name] },
        );
      }
      this.reuseAfter.delete(obj);
      if (viaRcu) this.freedViaRcu.delete(obj);
    }
    this.releasedAt.delete(obj);
    this.owned.push(obj);
    this.origin.set(obj, x.cpu);
    this.allocsOn[x.cpu]!++;
    if (++this.ownedOn[x.cpu]! > this.peakOn[x.cpu]!) this.peakOn[x.cpu] = this.ownedOn[x.cpu]!;
  }

  /** The objects programs on `cpu` were handed and still own, in
   *  allocation order. */
  ownedFrom(cpu: number): Obj[] {
    return this.owned.filter((o) => this.origin.get(o) === cpu);
  }

  /** Every owned object, CPU of origin by CPU of origin, oldest first
   *  within each: the order the map's teardown frees them in (it does not
   *  depend on how allocations on different CPUs interleaved). */
  ownedByOrigin(): Obj[] {
    return [...this.owned].sort((a, b) => (this.origin.get(a) ?? 0) - (this.origin.get(b) ?? 0));
  }

  /** An allocation on x returned NULL. Judged here: a refill raised by a
   *  task that was preempted between irq_work_claim() and queueing the
   *  work cannot run until that task runs again, so an allocation failing
   *  meanwhile while slab has room fails only because of that window. */
  allocFailed(x: Context): void {
    this.spy?.allocFailed(x);
    const k = this.k;
    const taken = x.foundTaken;
    x.foundTaken = null;
    if (taken && x.level !== 'nmi') {
      const beneath = k.cpus[x.cpu]!.stack.filter((y) => y !== x && y.level !== 'nmi');
      const holder = beneath.map((y) => `${y.label} (${y.level}, in ${y.fn})`);
      this.observe(
        'NoAllocFailureFromContention',
        `an allocation by ${x.label} (${x.level}) on cpu${x.cpu} returns NULL: it found ${taken.name} taken, which only an NMI may; beneath it on cpu${x.cpu}: ${holder.join(', ') || 'nothing'}`,
        { at: placeOf(x), with: beneath.map(placeOf), subjects: [taken.name] },
      );
      return;
    }
    if (k.slab.live >= k.cfg.maxObjects || k.slab.armed.kmalloc > 0 || k.slab.armed.percpu > 0) return;
    // the allocator's own state: a refill irq_work of this CPU's caches
    // claimed (PENDING) and on no list, whichever irq_work_queue() claimed it
    const s = k.cpus[x.cpu]!.stack;
    for (const { work: w, cpu } of k.refills) {
      if (cpu !== x.cpu || !w.pending || w.queued || w.busy || w.owner.freed) continue;
      // the claimer, when the engine's primitive claimed it; else the task
      // on this CPU inside irq_work_raise() (the family's function that
      // claims and queues the refill); it must be preempted by a task (an
      // interrupt above it would return; a task need not)
      const ys = w.claimedBy ? [w.claimedBy] : s.filter((y) => y !== x && y.level === 'task' && y.fns.includes('irq_work_raise'));
      for (const y of ys) {
        if (y === x || y.cpu !== x.cpu || y.level !== 'task') continue;
        const i = s.indexOf(y);
        if (i < 0) continue;
        if (s.slice(i + 1).some((z) => z.level === 'task' && !z.sleeping)) {
          return this.observe(
            'NoAllocFailureWhileRefillStalled',
            `an allocation by ${x.label} on cpu${x.cpu} returns NULL with slab room left: ${w.name} is claimed but on no list, and ${y.label} (${y.fn}) beneath it was preempted by a task before it queued the work, so the refill cannot run`,
            { at: placeOf(x), with: [placeOf(y)], subjects: [w.name] },
          );
        }
      }
    }
  }

  /** A fair quiesce ended: nothing pending, nothing running. No object may
   *  still wait for a grace period that already passed. */
  idle(): void {
    this.placement();
    for (const a of this.k.audited) a.idle?.((inv, detail, w) => this.fail(inv, detail, w));
    // a refill claimed and never queued can never run (whichever copy of
    // irq_work_queue() claimed it)
    for (const { work: w } of this.k.refills) {
      if (w.pending && !w.queued && !w.busy && !w.owner.freed) {
        this.fail('RefillProgress', `${w.name} (${w.fnName}) is claimed but on no list after everything ran: it can never run`);
      }
    }
    for (const h of this.k.holders) {
      if (!h.waitsForGp) continue;
      const o = h.head();
      if (o) {
        this.fail('FreedObjectsReturnToSlab', `${o.name} is still on ${h.name} after every grace period and callback ran (nothing left will free it)`, { subjects: [o.name, h.name] });
      }
    }
  }

  /** RefillProgress, after a fair quiesce: an allocation on cpu failed
   *  again after a failed one raised a refill that then ran with no
   *  injected fault and with slab room (`clean`, as the run saw it). */
  allocFailedAfterCleanRefill(cpu: number): never {
    const slab = this.k.slab;
    this.fail(
      'RefillProgress',
      `an allocation on cpu${cpu} still fails after a failed one raised a refill that ran with no injected fault and with slab room (now ${slab.live} of ${this.k.cfg.maxObjects} objects live)`,
    );
  }

  /** The grace periods each freed object still waits for, whether it went
   *  through bpf_mem_free_rcu(), and the read-side sections still open that
   *  began before its release (state keys: what the judgements read). */
  reuseKey(): string {
    const gps = [...this.reuseAfter].map(([o, n]) => `${o.id}:${n}${this.freedViaRcu.has(o) ? 'r' : ''}`).sort().join(',');
    if (this.releasedAt.size === 0) return gps;
    const guards: string[] = [];
    for (const [o, at] of this.releasedAt) {
      let g = '';
      for (const c of this.k.cpus) {
        const st = c.stack;
        for (let i = 0; i < st.length; i++) {
          const r = st[i]!;
          if (r.rcuDepth > 0 && r.rcuSince <= at) g += `${c.id}.${i}r`;
          if (r.traceDepth > 0 && r.traceSince <= at) g += `${c.id}.${i}t`;
        }
      }
      if (g) guards.push(`${o.id}<${g}`);
    }
    return `${gps}|${guards.sort().join(',')}`;
  }

  /** A program gives obj back (it is about to call the free path; `rcu`:
   *  through bpf_mem_free_rcu(), readers may still hold it). */
  released(obj: Obj, viaRcu = false): void {
    this.spy?.released(obj, this.origin.get(obj));
    const i = this.owned.indexOf(obj);
    if (i < 0) throw new Error(`model: ${obj.name} released but not owned`);
    this.owned.splice(i, 1);
    const on = this.origin.get(obj);
    if (on !== undefined) {
      this.ownedOn[on]!--;
      this.origin.delete(obj);
    }
    const rcu = this.k.rcu;
    this.reuseAfter.set(obj, rcu.rcu.completed + (rcu.rcu.gp ? 2 : 1));
    if (viaRcu) this.freedViaRcu.add(obj);
    this.releasedAt.set(obj, rcu.sections);
  }

  kfree(x: Context | null, obj: Obj): void {
    this.spy?.kfree(obj);
    if (this.owned.includes(obj)) {
      this.fail('Conservation', `${x ? x.fn : 'boot'} frees ${obj.name} to slab while a program owns it`);
    }
    this.reuseAfter.delete(obj);
    this.freedViaRcu.delete(obj);
    const at = this.releasedAt.get(obj);
    if (at !== undefined) this.releasedAt.delete(obj);
    for (const c of this.k.cpus) {
      for (const r of c.stack) {
        if (r.rcuDepth === 0 && r.traceDepth === 0) continue;
        const by = `${x ? x.fn : 'boot'} on cpu${x ? x.cpu : 0} frees ${obj.name} to slab while ${r.label} on cpu${r.cpu}`;
        // a witness: the reader looked it up
        if (r.refs.includes(obj)) this.fail('RcuSafety', `${by} still reads it in its RCU critical section`);
        // no witness needed: a section open since before the last release
        // could have looked it up, and the path to slab must wait for it
        if (at === undefined) continue;
        if (r.rcuDepth > 0 && r.rcuSince <= at) {
          this.fail('RcuSafety', `${by} is still inside the RCU read-side section it was in when ${obj.name} was last freed (it could have looked it up)`);
        }
        if (this.traceReaders && r.traceDepth > 0 && r.traceSince <= at) {
          this.fail('RcuSafety', `${by} is still inside the RCU tasks trace section it was in when ${obj.name} was last freed (it could have looked it up)`);
        }
      }
    }
  }

  /** Weak Conservation, every step: no object reachable twice. */
  neverOnTwoLists(): void {
    const k = this.k;
    const w = ++k.walk;
    const hs = k.holders;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      for (let o = h.head(); o; o = o.next) {
        if (o.mark === w) this.fail('NeverOnTwoLists', `${o.name} is reachable twice (again from ${h.name})`);
        o.mark = w;
      }
    }
    // head() of an untracked holder may itself write links (slub pca)
    this.walkedAt = links.version;
  }

  /** Full Conservation and, while no teardown has begun (drain leaves
   *  counters stale on purpose), the counters, at quiescence. */
  quiescent(counters = true): void {
    const k = this.k;
    this.neverOnTwoLists();
    const w = k.walk;
    for (const h of k.holders) {
      for (let o = h.head(); o; o = o.next) {
        if (o.state === 'slab') this.fail('Conservation', `${o.name} is on ${h.name} but was freed to slab`, { subjects: [o.name, h.name] });
        if (this.owned.includes(o)) this.fail('Conservation', `${o.name} is on ${h.name} while a program owns it`, { subjects: [o.name, h.name] });
      }
    }
    for (const o of k.slab.all) {
      if (o.state === 'live' && o.mark !== w && !this.owned.includes(o)) {
        this.fail('Conservation', `${o.name} is lost: live, but owned by no program and on no list`, { subjects: [o.name] });
      }
    }
    if (counters) for (const a of k.audited) a.audit((inv, detail, w) => this.fail(inv, detail, w));
    if (counters) this.memoryBound();
  }

  /** SizeMatchesCache, as placement: every object a family declared a
   *  holder of sits in the holder of its kind (its ksize, its percpu
   *  unit). Judged after a fair quiesce for every declared holder,
   *  whatever primitive put it there (an llist add is judged as it
   *  happens, spec/kernel/llist.ts). */
  private placement(): void {
    for (const [h, d] of this.k.holdings) {
      if (d.unit === undefined && !d.pptr) continue;
      for (let o = h.head(); o; o = o.next) {
        if (d.unit !== undefined && o.size !== d.unit) this.fail('SizeMatchesCache', `${o.name} (ksize ${o.size}) sits on ${h.name}, which holds ${d.unit}-byte units`);
        if (d.pptr && o.pptrBytes !== d.pptr) this.fail('SizeMatchesCache', `${o.name} (a percpu unit of ${o.pptrBytes} bytes) sits on ${h.name}, which holds ${d.pptr}-byte percpu units`);
      }
    }
  }

  /** MemoryBound, at a quiescent point where every raised refill has run:
   *  a CPU whose programs have allocated nothing (a pure consumer: it
   *  only frees what others allocated) keeps, on each structure of it
   *  that declares a bound, at most the slack the family's code implies
   *  (Kernel.bounds: one formula per family, beside its code) in objects
   *  it could hand out again. Whatever it keeps beyond that it can never
   *  hand out, while the CPUs that allocate ask slab for new objects:
   *  memory piles up until a grace period ends (upstream 822fb26bdb55).
   *  Objects freed with bpf_mem_free_rcu() are not counted: they wait for
   *  a grace period wherever they sit. (A CPU that allocates may be sent
   *  batches of what it allocated, or of what rode with one of its
   *  objects, as upstream's c->tgt does: how many depends on grace
   *  periods, and no watermark bounds it.) */
  memoryBound(): void {
    const k = this.k;
    if (k.bounds.length === 0 || k.tearingDown || k.pendingIrqWork.size || k.claimedIrqWork.size) return;
    for (const { work } of k.refills) if (work.pending || work.busy) return;
    for (const b of k.bounds) {
      if (b.owner.freed) continue;
      const cpu = b.cpu;
      if (this.allocsOn[cpu]! > 0) continue;
      const slack = b.slack();
      let held = 0;
      for (const [h, d] of k.holdings) if (d.kind === 'cache' && d.cpu === cpu && d.of === b.owner) held += this.keptOn(h);
      if (held > slack) {
        // named only when it fails (this runs at every quiescent command)
        const where: string[] = [];
        for (const [h, d] of k.holdings) if (d.kind === 'cache' && d.cpu === cpu && d.of === b.owner && this.keptOn(h)) where.push(`${h.name} ${this.keptOn(h)}`);
        this.fail(
          'MemoryBound',
          `cpu${cpu}'s programs allocated nothing, yet its cache keeps ${held} objects for reuse (${where.join(', ')}): more than ${b.formula} = ${slack}; no CPU can take them back, and the CPUs that allocate ask slab for new ones`,
        );
      }
    }
  }

  /** Objects on h kept for reuse: those not freed with bpf_mem_free_rcu(). */
  private keptOn(h: Holder): number {
    let n = 0;
    for (let o = h.head(); o; o = o.next) if (!this.freedViaRcu.has(o)) n++;
    return n;
  }

  /** DeadCpuHoldsNothing: after the CPU-dead hook for cpu ran to its end,
   *  none of that CPU's declared caches holds an object. */
  cpuDead(cpu: number): void {
    for (const [h, d] of this.k.holdings) {
      if (d.kind === 'gp' || d.cpu !== cpu) continue;
      const o = h.head();
      if (o) this.fail('DeadCpuHoldsNothing', `${o.name} is still on ${h.name} after cpu${cpu}'s CPU-dead callback ran`);
    }
  }

  /** After teardown and every pending callback: everything back in slab. */
  tornDown(): void {
    const k = this.k;
    // a dead CPU's caches hold nothing once teardown is over
    for (const [h, d] of k.holdings) {
      if (d.cpu === undefined || k.cpus[d.cpu]?.online !== false) continue;
      const o = h.head();
      if (o) this.fail('DeadCpuHoldsNothing', `${o.name} is still on ${h.name} of offline cpu${d.cpu} after teardown`);
    }
    const live = k.slab.all.filter((o) => o.state === 'live');
    if (live.length) {
      this.fail('NoLeakAtTeardown', `${live.length} object(s) never returned to slab: ${live.map((o) => o.name).join(', ')}`, { subjects: live.map((o) => o.name) });
    }
    if (k.slab.structs.size) {
      this.fail('NoLeakAtTeardown', `never freed: ${[...k.slab.structs].map((s) => s.name).join(', ')}`, { subjects: [...k.slab.structs].map((s) => s.name) });
    }
    if (k.slab.percpuBytes !== 0) this.fail('NoLeakAtTeardown', `${k.slab.percpuBytes} percpu bytes never freed`);
  }
}
