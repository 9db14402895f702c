// The abstract allocator: what any allocator promises, whatever its lists.
// It owns the user's view (which objects programs own, which readers hold
// references) and checks the spec's concrete state against it.
import type { Context } from '../spec/kernel/context.ts';
import type { Kernel, Observer } from '../spec/kernel/kernel.ts';
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

  constructor(
    private readonly k: Kernel,
    promises: readonly InvariantName[],
    /** the policy's declared header: ObjectFitsRequest is judged if set */
    private readonly header?: number,
  ) {
    this.checkReuse = promises.includes('NoReuseBeforeGracePeriod');
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
    if (k.claimedIrqWork.size === 0) return;
    if (k.slab.live >= k.cfg.maxObjects || k.slab.armed.kmalloc > 0 || k.slab.armed.percpu > 0) return;
    const s = k.cpus[x.cpu]!.stack;
    for (const w of k.claimedIrqWork) {
      const y = w.claimedBy;
      if (!y || y === x || y.cpu !== x.cpu || y.level !== 'task') continue;
      const i = s.indexOf(y);
      if (i < 0) continue;
      // preempted by a task (an interrupt above it would return; a task need not)
      if (s.slice(i + 1).some((z) => z.level === 'task' && !z.sleeping)) {
        return this.observe(
          'NoAllocFailureWhileRefillStalled',
          `an allocation by ${x.label} on cpu${x.cpu} returns NULL with slab room left: ${w.name} was claimed by ${y.label} (${y.fn}), preempted before it queued the work, so the refill cannot run`,
          { at: placeOf(x), with: [placeOf(y)], subjects: [w.name] },
        );
      }
    }
  }

  /** A fair quiesce ended: nothing pending, nothing running. No object may
   *  still wait for a grace period that already passed. */
  idle(): void {
    for (const a of this.k.audited) a.idle?.((inv, detail, w) => this.fail(inv, detail, w));
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
    this.origin.delete(obj);
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
  }

  /** After teardown and every pending callback: everything back in slab. */
  tornDown(): void {
    const k = this.k;
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
