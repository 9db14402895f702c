// kernel/rcu: normal RCU and RCU tasks trace. A grace period starts when a
// callback is queued, snapshots the readers inside their critical section,
// and can end (a harness action) once every one of them has left it.
// Callbacks whose grace period ended run later, one at a time, in softirq on
// the CPU that queued them.
import { oneStep, type Context } from './context.ts';
import type { Kernel } from './kernel.ts';
import { waitUntil } from './spinlock.ts';
import { type Gen, type Owner } from './types.ts';
import { acts, reads, writes, type Loc, report } from './events.ts';

export type Flavour = 'rcu' | 'rcu_tasks_trace';

/** struct rcu_head embedded in a freeable structure. */
export class RcuHead {
  queued = false;
  private ownerName: string | null = null;
  private fullName = '';
  constructor(
    readonly owner: Owner,
    readonly field: string = 'rcu',
  ) {}
  /** `owner.field`, cached (read on every call_rcu) */
  get name(): string {
    if (this.ownerName !== this.owner.name) {
      this.ownerName = this.owner.name;
      this.fullName = `${this.ownerName}.${this.field}`;
    }
    return this.fullName;
  }
}

export interface Callback {
  readonly seq: number;
  readonly flavour: Flavour;
  readonly cpu: number;
  readonly name: string;
  readonly head: RcuHead | null;
  readonly fn: ((x: Context) => Gen<void>) | null;
  /** synchronize_*(): woken at the end of the grace period, no softirq */
  wake: (() => void) | null;
}

interface GracePeriod {
  readers: { x: Context; section: number }[];
  upTo: number;
}

export class RcuFlavourState {
  /** the flavour (a step's footprint names its state) */
  readonly name: string;
  pending: Callback[] = [];
  ready: Callback[][];
  gp: GracePeriod | null = null;
  /** queued and not yet finished, for rcu_barrier() */
  inflight = new Set<Callback>();
  completed = 0;
  constructor(
    readonly flavour: Flavour,
    cpus: number,
  ) {
    this.name = flavour;
    this.ready = [];
    for (let i = 0; i < cpus; i++) this.ready.push([]);
  }
}

export class Rcu {
  seq = 0;
  /** read-side sections begun so far, of either flavour: the stamp a
   *  section takes when it opens (Context.rcuSince/traceSince), so the
   *  model can tell which sections were already open at a given point */
  sections = 0;
  readonly rcu: RcuFlavourState;
  readonly trace: RcuFlavourState;
  /** per CPU: the read-side sections of its contexts (what a grace period
   *  waits for), as a footprint names them: rcu_read_lock() on a CPU writes
   *  its own, a grace period starting or ending reads every CPU's */
  readonly readers: Loc[];
  constructor(private readonly k: Kernel) {
    this.rcu = new RcuFlavourState('rcu', k.cfg.cpus);
    this.trace = new RcuFlavourState('rcu_tasks_trace', k.cfg.cpus);
    this.readers = [];
    for (let i = 0; i < k.cfg.cpus; i++) this.readers.push({ name: `cpu${i}.rcu_readers` });
  }

  of(f: Flavour): RcuFlavourState {
    return f === 'rcu' ? this.rcu : this.trace;
  }

  /** Does a grace period of flavour f wait for reader x? */
  private waitsFor(f: Flavour, x: Context): boolean {
    if (f === 'rcu') return x.rcuDepth > 0;
    return x.traceDepth > 0 || (this.k.cfg.rcuTraceImpliesRcuGp && x.rcuDepth > 0);
  }

  private startGp(s: RcuFlavourState): void {
    if (s.gp || s.pending.length === 0) return;
    const readers: GracePeriod['readers'] = [];
    for (const c of this.k.cpus) for (const x of c.stack) if (this.waitsFor(s.flavour, x)) readers.push({ x, section: x.rcuSection });
    s.gp = { readers, upTo: s.pending[s.pending.length - 1]!.seq };
  }

  canEndGp(f: Flavour): boolean {
    const gp = this.of(f).gp;
    if (!gp) return false;
    for (const r of gp.readers) {
      if (!r.x.done && r.x.rcuSection === r.section && this.waitsFor(f, r.x)) return false;
    }
    return true;
  }

  /** End the current grace period of f (caller checked canEndGp). */
  endGp(f: Flavour): void {
    const s = this.of(f);
    const upTo = s.gp!.upTo;
    s.gp = null;
    s.completed++;
    let i = 0;
    for (; i < s.pending.length && s.pending[i]!.seq <= upTo; i++) {
      const cb = s.pending[i]!;
      if (cb.wake) {
        cb.wake();
        s.inflight.delete(cb);
      } else s.ready[cb.cpu]!.push(cb);
    }
    s.pending.splice(0, i);
    this.startGp(s);
  }

  queue(x: Context | null, f: Flavour, cb: Omit<Callback, 'seq' | 'flavour'>): Callback {
    const s = this.of(f);
    const full: Callback = { cpu: cb.cpu, name: cb.name, head: cb.head, fn: cb.fn, wake: cb.wake, seq: ++this.seq, flavour: f };
    s.pending.push(full);
    s.inflight.add(full);
    this.startGp(s);
    void x;
    return full;
  }

  /** Take the next ready callback of a CPU (the softirq runs it). */
  takeReady(cpu: number): Callback | null {
    for (const s of [this.rcu, this.trace]) {
      const q = s.ready[cpu]!;
      if (q.length) return q.shift()!;
    }
    return null;
  }

  hasReady(cpu: number): boolean {
    return this.rcu.ready[cpu]!.length > 0 || this.trace.ready[cpu]!.length > 0;
  }

  finished(cb: Callback): void {
    this.of(cb.flavour).inflight.delete(cb);
  }

  /** Callbacks of f not yet finished whose seq <= upTo. */
  outstanding(f: Flavour, upTo: number): boolean {
    for (const cb of this.of(f).inflight) if (cb.seq <= upTo) return true;
    return false;
  }
}

/** A step queued a callback of flavour f: it wrote the flavour's state,
 *  and read every CPU's readers (the grace period it may start snapshots
 *  them). */
function queued(x: Context, f: Flavour): void {
  const rcu = x.k.rcu;
  writes(x, rcu.of(f));
  for (const r of rcu.readers) reads(x, r);
}

function queueCb(x: Context, f: Flavour, head: RcuHead, fn: (x: Context) => Gen<void>, name: string): Gen<void> {
  x.k.touch(x, head.owner, head.field);
  if (head.queued) {
    report('warn', `${x.fn} on cpu${x.cpu}: ${name} queues ${head.owner.name}.${head.field} while it is still queued (double call_rcu)`);
  }
  head.queued = true;
  x.k.rcu.queue(x, f, { cpu: x.cpu, name, head, fn, wake: null });
  acts(x, f === 'rcu' ? 'call_rcu' : 'call_rcu_tasks_trace', head, true);
  queued(x, f);
  return oneStep(x.k.labels ? `${f === 'rcu' ? 'call_rcu' : 'call_rcu_tasks_trace'}(&${head.field}, ${name})` : '');
}

/** call_rcu(): one step. */
export function callRcu(x: Context, head: RcuHead, fn: (x: Context) => Gen<void>, name: string): Gen<void> {
  return queueCb(x, 'rcu', head, fn, name);
}

export function callRcuTasksTrace(x: Context, head: RcuHead, fn: (x: Context) => Gen<void>, name: string): Gen<void> {
  return queueCb(x, 'rcu_tasks_trace', head, fn, name);
}

/** Run by the softirq context: invoke one callback. */
export function* invokeCallback(x: Context, cb: Callback): Gen<void> {
  // the first step took it off the ready list (the scheduler did, as it
  // started this softirq)
  writes(x, x.k.rcu.of(cb.flavour));
  if (cb.head) {
    if (cb.head.owner.freed) {
      report('teardown-touch', `RCU callback ${cb.name} on cpu${x.cpu} runs on ${cb.head.owner.name}.${cb.head.field} after teardown freed it`,
      );
    }
    cb.head.queued = false;
    writes(x, cb.head);
  }
  x.fns.push(cb.name);
  yield* cb.fn!(x);
  x.fns.pop();
  x.k.rcu.finished(cb);
  writes(x, x.k.rcu.of(cb.flavour));
}

function* barrier(x: Context, f: Flavour, name: string): Gen<void> {
  const upTo = x.k.rcu.seq;
  x.barrierSeq = upTo;
  const s = x.k.rcu.of(f);
  acts(x, name, s, false);
  yield x.k.labels ? `${name}()` : '';
  yield* waitUntil(x, () => !x.k.rcu.outstanding(f, upTo), name, true, s);
  x.barrierSeq = -1;
}

export function* rcuBarrier(x: Context): Gen<void> {
  yield* barrier(x, 'rcu', 'rcu_barrier');
}

export function* rcuBarrierTasksTrace(x: Context): Gen<void> {
  yield* barrier(x, 'rcu_tasks_trace', 'rcu_barrier_tasks_trace');
}

/** synchronize_rcu_expedited(): wait for one full normal grace period. */
export function* synchronizeRcuExpedited(x: Context): Gen<void> {
  let woken = false;
  x.k.rcu.queue(x, 'rcu', { cpu: x.cpu, name: 'synchronize_rcu_expedited', head: null, fn: null, wake: () => (woken = true) });
  acts(x, 'synchronize_rcu_expedited', x.k.rcu.rcu, true);
  queued(x, 'rcu');
  yield 'synchronize_rcu_expedited()';
  yield* waitUntil(x, () => woken, 'synchronize_rcu_expedited', true, x.k.rcu.rcu);
}

// rcu_read_lock() and friends are no step of their own (a step's part):
// they write the CPU's readers (what a grace period waits for)
export function rcuReadLock(x: Context): void {
  writes(x, x.k.rcu.readers[x.cpu]!);
  if (x.rcuDepth++ === 0) {
    x.rcuSince = ++x.k.rcu.sections;
    if (x.traceDepth === 0) x.rcuSection++;
  }
}
export function rcuReadUnlock(x: Context): void {
  writes(x, x.k.rcu.readers[x.cpu]!);
  x.rcuDepth--;
}
export function rcuReadLockTrace(x: Context): void {
  writes(x, x.k.rcu.readers[x.cpu]!);
  if (x.traceDepth++ === 0) {
    x.traceSince = ++x.k.rcu.sections;
    if (x.rcuDepth === 0) x.rcuSection++;
  }
}
export function rcuReadUnlockTrace(x: Context): void {
  writes(x, x.k.rcu.readers[x.cpu]!);
  x.traceDepth--;
}
