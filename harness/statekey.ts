// The canonical encoding of a run's whole state, for the exhaustive
// mode's pruning: two runs with the same key behave the same from here on,
// under the exhaustive alphabet (harness/exhaustive/letters.ts). The
// search keys states by a 128-bit hash of it, streamed (stateHash: the
// text goes through MD5 a chunk at a time and is never held whole); the
// text itself (stateKey) is for tests and `exactKeys`.
//
// It holds, per CPU, each context on the stack with its level, its kind
// (the label without its number: numbers only name contexts), what it was
// started with (Context.started: a program's operation, objects and size,
// the irq_work, work or RCU callback it runs; set by Sim and the scheduler
// when the kernel keeps history), its kernel function stack, wait, RCU
// nesting and section, locks, how many in-flight callbacks a barrier in
// progress waits for (Context.barrierSeq), its references, and the labels
// of every step it took (by the spec's convention a label shows the values
// its step read, so the context's locals follow from what it was started
// with and those); then every registered list (object ids in order) and
// counter, who owns what per CPU of origin (the free and lookup letters
// name objects by it; the map's teardown frees in that order, so how
// allocations on different CPUs interleaved is not state) and reuse grace
// periods, per RCU flavour the grace periods completed, how many pending
// callbacks the current one covers and its readers, the pending, ready and
// in-flight callbacks in order, pending and claimed irq_work per CPU in
// the order queued there (a CPU takes only its own), pending works;
// everything reachable from the policy's state object (dataOf: plain
// fields a structure keeps outside registered lists and counters; a frozen
// structure of plain data is written once per process); each size's free
// pool in order; and the slab's objects (state, size, link, upstream cache
// hint), armed faults, live structures, percpu bytes.
//
// Object ids are renamed in the order the encoding first names them
// (Renaming): a state where cpu1's refill took obj2 and cpu0's obj3 is the
// state where it went the other way round. No code decides on an id.
//
// Not covered: what a closure captured, and module-level tables other than
// upstream's cache hints (README, "Exhaustive mode"). test/harness/
// exhaustive.test.ts checks on each built-in policy family that lists
// meeting at one key behave alike under random continuations.
import { Context } from '../spec/kernel/context.ts';
import { Obj, objectState } from '../spec/kernel/obj.ts';
import { LlistHead } from '../spec/kernel/llist.ts';
import { Cell } from '../spec/kernel/atomic.ts';

import type { Callback, RcuFlavourState } from '../spec/kernel/rcupdate.ts';
import type { Sim } from './sim.ts';
import { createHash } from 'node:crypto';

/** The labels of the steps x took, joined (the one place the key reads
 *  Context.history, so a change in how labels are kept touches only it). */
export function historyOf(x: Context): string {
  return x.history === null ? '' : x.history.join(';');
}

/** The canonical encoding as a string: exact (tests, and `exactKeys`). */
export function stateKey(sim: Sim): string {
  const parts: string[] = [];
  encode(sim, (s) => parts.push(s));
  return parts.join('\n');
}

/** The same encoding streamed through a 128-bit hash (MD5; a chunk at a
 *  time, the whole text never held): 16 characters, one per byte. */
export function stateHash(sim: Sim): string {
  const h = createHash('md5');
  let buf = '';
  encode(sim, (s) => {
    buf += s + '\n';
    if (buf.length > 8192) {
      h.update(buf);
      buf = '';
    }
  });
  h.update(buf);
  return h.digest().toString('latin1');
}

/** Object ids renamed in order of first appearance in the encoding, so
 *  two states that differ only in which object got which id (the order
 *  slab made them in, which CPU allocated first) have one key. Sound: no
 *  code decides anything on an id (ids only name objects) and every place
 *  the key names an object goes through the same renaming, so one
 *  encoding is one state up to a renaming of objects. */
class Renaming {
  private readonly canon = new Map<number, number>();
  /** raw ids, in canonical order */
  readonly order: number[] = [];
  id(raw: number): number {
    let c = this.canon.get(raw);
    if (c === undefined) {
      c = this.order.length;
      this.canon.set(raw, c);
      this.order.push(raw);
    }
    return c;
  }
  has(raw: number): boolean {
    return this.canon.has(raw);
  }
  /** object names (objN) inside a text: a label, a callback, a name */
  text(s: string): string {
    return s.indexOf('obj') < 0 ? s : s.replace(/obj(\d+)/g, (_m, d: string) => `obj${this.id(Number(d))}`);
  }
  /** "id,id" */
  list(s: string): string {
    return s ? s.split(',').map((d) => String(this.id(Number(d)))).join(',') : s;
  }
  /** a model reuse entry keyed by a leading id ("3:1r", "3<0.0r"), sorted */
  entries(s: string): string {
    if (!s) return s;
    return s
      .split(',')
      .map((e) => e.replace(/^\d+/, (d) => String(this.id(Number(d)))))
      .sort()
      .join(',');
  }
}

/** The program a context started as: its object ids renamed. */
const STARTED_IDS = /^(\w+ x\d+ )\[([\d,]*)\]/;

function encode(sim: Sim, put: (s: string) => void): void {
  const k = sim.k;
  const rcu = k.rcu;
  const rn = new Renaming();
  put(`${sim.tearingDown ? 1 : 0}${sim.over ? 1 : 0}`);
  const ctxIndex = new Map<object, string>();
  for (const c of k.cpus) {
    let s = `c${c.id}${c.online ? '' : 'off'}${c.irqsOff ? 'I' : ''}`;
    const st = c.stack;
    for (let i = 0; i < st.length; i++) {
      const x = st[i]!;
      ctxIndex.set(x, `${c.id}.${i}`);
      const barrier = x.barrierSeq < 0 ? '' : `${upTo(rcu.rcu, x.barrierSeq)},${upTo(rcu.trace, x.barrierSeq)}`;
      const started = typeof x.started === 'string' ? rn.text(x.started.replace(STARTED_IDS, (_m, a: string, ids: string) => `${a}[${rn.list(ids)}]`)) : x.started;
      s += `[${x.level}|${kindOf(x.label)}|${started}|${x.fns.join('>')}|${rn.text(x.waitWhat)}|${x.sleeping ? 1 : 0}|${x.rcuDepth},${x.traceDepth},${x.rcuSection}|${x.spinlocks},${x.preemptCount}|${barrier}|${x.refs.length ? x.refs.map((o) => rn.id(o.id)).join(',') : ''}|${rn.text(historyOf(x))}]`;
    }
    put(s);
  }
  for (const h of k.holders) {
    let s = `${rn.text(h.name)}:`;
    for (let o = h.head(), n = 0; o && n < 4096; o = o.next, n++) s += `${rn.id(o.id)},`;
    put(s);
  }
  let cells = '';
  for (const c of k.cells) cells += `${c.v},`;
  put(cells);
  // who owns what, per CPU of origin (the free and lookup letters name an
  // object by its place there: harness/exhaustive/letters.ts)
  let own = 'own:';
  for (const c of k.cpus) own += `${sim.model.ownedFrom(c.id).map((o) => rn.id(o.id)).join(',')};`;
  const reuse = sim.model.reuseKey().split('|');
  put(`${own}|${reuse.map((r) => rn.entries(r)).join('|')}`);
  for (const f of [rcu.rcu, rcu.trace]) {
    // the grace period covers the first `covered` pending callbacks; the
    // callbacks not yet finished, in the order they were queued (barriers
    // above count how many of them each waits for)
    let gp = '';
    if (f.gp) {
      let covered = 0;
      for (const cb of f.pending) if (cb.seq <= f.gp.upTo) covered++;
      gp = `gp${covered}:${f.gp.readers.map((r) => `${ctxIndex.get(r.x) ?? 'done'}@${r.section}`).join(',')}`;
    }
    let inflight = '';
    for (const cb of f.inflight) inflight += `${rn.text(cbName(cb))},`;
    put(`${f.flavour}:${f.completed}|${gp}|${f.pending.map((cb) => rn.text(cbName(cb))).join(',')}|${f.ready.map((q) => q.map((cb) => rn.text(cbName(cb))).join(',')).join('/')}|${inflight}`);
  }
  // irq_work, per CPU in the order queued there (a CPU takes only its own:
  // spec/kernel/sched.ts irqWorkFor), so two CPUs queueing in either order
  // is one state
  put(`iw:${[...k.pendingIrqWork].sort(byCpu).map((w) => `${rn.text(w.name)}@${w.cpu}`).join(',')}|${[...k.claimedIrqWork].sort(byCpu).map((w) => `${rn.text(w.name)}<${ctxIndex.get(w.claimedBy!) ?? '?'}`).join(',')}`);
  put(`wk:${[...k.pendingWork].map((w) => `${rn.text(w.name)}@${w.cpu}${w.unbound ? 'u' : ''}`).join(',')}`);
  put(dataOf(sim, ctxIndex, rn));
  const slab = k.slab;
  put(`pools:${slab.freeLists().map(([size, ids]) => `${size}=${ids.map((i) => rn.id(i)).join(',')}`).join(';')}`);
  // every object: those named above in the order they were first named
  // (following links), then the rest by what they are
  const byId = new Map<number, Obj>();
  for (const o of slab.all) byId.set(o.id, o);
  let objs = '';
  let i = 0;
  for (; i < rn.order.length; i++) objs += objectOf(byId.get(rn.order[i]!), rn);
  const rest: [string, Obj][] = [];
  for (const o of slab.all) if (!rn.has(o.id)) rest.push([attrs(o), o]);
  rest.sort(byText);
  for (const [, o] of rest) rn.id(o.id);
  for (; i < rn.order.length; i++) objs += objectOf(byId.get(rn.order[i]!), rn);
  put(objs);
  put(`slab${slab.live}|${slab.percpuBytes}|${Object.values(slab.armed).join(',')}|${[...slab.structs].map((s) => `${rn.text(s.name)}${s.freed ? 'F' : ''}`).join(',')}`);
}

/** callbacks of flavour f not yet finished with seq <= upTo */
function upTo(f: RcuFlavourState, seq: number): number {
  let n = 0;
  for (const cb of f.inflight) if (cb.seq <= seq) n++;
  return n;
}

function byCpu(a: { cpu: number }, b: { cpu: number }): number {
  return a.cpu - b.cpu;
}

function byText(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** What an object is, apart from its link and its id. */
function attrs(o: Obj): string {
  return `${o.state === 'slab' ? 's' : 'l'}${o.size}/${o.pptrBytes}^${objectState(o)}`;
}

/** An object and its link (renamed); an id no longer in slab: gone. */
function objectOf(o: Obj | undefined, rn: Renaming): string {
  return o ? `${attrs(o)}>${o.next ? rn.id(o.next.id) : '-'};` : 'gone;';
}

/** Fields that only cache what other fields say (a name built once). */
const CACHES = new Set(['ownerName', 'fullName']);
/** An allocator object's brand (spec/kernel/obj.ts). */
const OBJ = Symbol.for('allocspec.Obj');
/** A string that needs no escaping inside quotes. */
const plain = (s: string): boolean => !/["\\\u0000-\u001f]/.test(s);

/** Everything reachable from the policy's state, in a canonical order: a
 *  depth-first walk over own data fields (in the order the constructor
 *  made them), array, Map and Set entries (in their order, which code that
 *  iterates them sees); an object met again is written as the number of
 *  its first visit, so the encoding follows the shape of the graph. Kernel
 *  objects and the model are keyed above and left out here; an allocator
 *  object is its id (its fields are keyed above); a context is its place
 *  on its CPU's stack; functions are opaque (what a closure captured is
 *  not covered). This is what makes a field a structure keeps outside
 *  registered lists and counters part of the key, whoever wrote it. */
function dataOf(sim: Sim, ctxIndex: Map<object, string>, rn: Renaming): string {
  const k = sim.k;
  const w = new Walk(k, new Set<object>([k, k.slab, k.rcu, k.rcu.rcu, k.rcu.trace, sim.model, k.pendingIrqWork, k.claimedIrqWork, k.pendingWork, k.holders, k.cells, k.cpus, k.audited]), ctxIndex, rn);
  w.walk(sim.state);
  // a percpu allocator a policy plugged in beneath (spec/kernel/slab.ts)
  if (k.slab.percpuBackend?.state !== undefined) {
    w.out += '|pcpu:';
    w.walk(k.slab.percpuBackend.state);
  }
  return w.out;
}

/** The walk dataOf makes (a class: no closure made per state). */
class Walk {
  readonly visited = new Map<object, number>();
  out = '';
  constructor(
    private readonly k: Sim['k'],
    private readonly skip: Set<object>,
    private readonly ctxIndex: Map<object, string>,
    private readonly rn: Renaming,
  ) {}
  walk(v: unknown): void {
    const { k, skip, ctxIndex, rn, visited } = this;
    if (typeof v !== 'object' || v === null) {
      if (typeof v === 'string') {
        const t = rn.text(v);
        this.out += plain(t) ? `"${t}"` : JSON.stringify(t);
      }
      else if (typeof v === 'function') this.out += 'f';
      else this.out += String(v);
      return;
    }
    const o = v as Record<string | symbol, unknown>;
    if (o[OBJ] === true) {
      this.out += `o${rn.id((v as Obj).id)}`;
      return;
    }
    if (o.constructor === Context) {
      this.out += ctxIndex.get(v) ?? `x${(v as Context).done ? 'done' : 'off'}`;
      return;
    }
    if (skip.has(v)) {
      this.out += 'k';
      return;
    }
    // a registered list or counter: keyed above (its only changing field
    // is the list's first node, the counter's value); named by its place
    if (v instanceof LlistHead) {
      const i = k.holders.indexOf(v);
      if (i >= 0) {
        this.out += `H${i}`;
        return;
      }
    } else if (v instanceof Cell) {
      const i = k.cells.indexOf(v);
      if (i >= 0) {
        this.out += `C${i}`;
        return;
      }
    }
    // a frozen structure of plain data (an ops table, a constant): nothing
    // can change it, so it is written as it was the first time (built
    // once per process, not walked again)
    if (Object.isFrozen(v)) {
      const f = frozenText(v);
      if (f !== null) {
        this.out += f;
        return;
      }
    }
    const seen = visited.get(v);
    if (seen !== undefined) {
      this.out += `@${seen}`;
      return;
    }
    visited.set(v, visited.size);
    if (Array.isArray(v)) {
      this.out += '[';
      for (let i = 0; i < v.length; i++) {
        this.walk(v[i]);
        this.out += ',';
      }
      this.out += ']';
    } else if (v instanceof Map) {
      this.out += 'M{';
      for (const [a, b] of v) {
        this.walk(a);
        this.out += '=';
        this.walk(b);
        this.out += ',';
      }
      this.out += '}';
    } else if (v instanceof Set) {
      this.out += 'S{';
      for (const e of v) {
        this.walk(e);
        this.out += ',';
      }
      this.out += '}';
    } else if (ArrayBuffer.isView(v)) {
      this.out += `B[${Array.prototype.join.call(v, ',')}]`;
    } else {
      // own enumerable fields (class getters are on the prototype and not
      // enumerable: the fields behind them are read instead)
      this.out += '{';
      for (const f in o) {
        if (!Object.hasOwn(o, f) || CACHES.has(f)) continue;
        const x = o[f];
        if (typeof x === 'function') continue;
        this.out += `${f}:`;
        this.walk(x);
        this.out += ',';
      }
      this.out += '}';
    }
  }
}

/** Frozen structures holding only frozen plain data, by identity: their
 *  text (null: one that holds something else, walked as usual). */
const FROZEN = new WeakMap<object, string | null>();

function frozenText(v: object): string | null {
  let t = FROZEN.get(v);
  if (t !== undefined) return t;
  t = pureText(v, new Set());
  FROZEN.set(v, t);
  return t;
}

/** The text of a frozen array or plain object whose every value is a
 *  primitive, a function (opaque) or such a structure; null otherwise. */
function pureText(v: object, path: Set<object>): string | null {
  if (!Object.isFrozen(v) || path.has(v)) return null;
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return null;
  path.add(v);
  let out = Array.isArray(v) ? 'Z[' : 'Z{';
  for (const [f, x] of Object.entries(v)) {
    if (typeof x === 'function') continue;
    let t: string | null;
    if (typeof x === 'object' && x !== null) t = pureText(x, path);
    else t = typeof x === 'string' ? JSON.stringify(x) : String(x);
    if (t === null) return null;
    out += `${f}:${t},`;
  }
  path.delete(v);
  return out + (Array.isArray(v) ? ']' : '}');
}

/** A callback: its function, the CPU that queued it, its rcu_head. */
function cbName(cb: Callback): string {
  return cb.head ? `${cb.name}@${cb.cpu}:${cb.head.owner.name}.${cb.head.field}` : `${cb.name}@${cb.cpu}`;
}

/** A context's label without its number (prog3 -> prog): numbers only
 *  name contexts. */
function kindOf(label: string): string {
  let e = label.length;
  while (e > 0 && label.charCodeAt(e - 1) >= 48 && label.charCodeAt(e - 1) <= 57) e--;
  return e === label.length ? label : label.slice(0, e);
}
