// The canonical encoding of a run's whole state, for the exhaustive
// mode's pruning: two runs with the same key behave the same from here on.
// A string, not a hash: nothing is merged that differs.
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
// counter, the slab (every object's state, size, link and what a family
// keeps of it outside it; each size's free pool in order; armed faults; live structures;
// percpu bytes), who owns what and reuse grace periods, per RCU flavour the
// grace periods completed, how many pending callbacks the current one
// covers and its readers, the pending, ready and in-flight callbacks in
// order, pending and claimed irq_work, pending works; and everything
// reachable from the policy's state object (dataOf: plain fields a
// structure keeps outside registered lists and counters).
//
// Not covered: what a closure captured, and module-level tables a family
// does not register (spec/kernel/obj.ts registerObjectState: upstream's
// cache hints are) (README, "Exhaustive mode"). test/harness/
// exhaustive.test.ts checks on each built-in policy family that lists
// meeting at one key behave alike under random continuations.
import { Context } from '../spec/kernel/context.ts';
import { Obj, objectState } from '../spec/kernel/obj.ts';
import { LlistHead } from '../spec/kernel/llist.ts';
import { Cell } from '../spec/kernel/atomic.ts';
import type { Callback, RcuFlavourState } from '../spec/kernel/rcupdate.ts';
import type { Sim } from './sim.ts';

/** The labels of the steps x took, joined (the one place the key reads
 *  Context.history, so a change in how labels are kept touches only it). */
export function historyOf(x: Context): string {
  return x.history === null ? '' : x.history.join(';');
}

export function stateKey(sim: Sim): string {
  const k = sim.k;
  const rcu = k.rcu;
  const parts: string[] = [`${sim.tearingDown ? 1 : 0}${sim.over ? 1 : 0}`];
  const ctxIndex = new Map<object, string>();
  /** callbacks of flavour f not yet finished with seq <= upTo */
  const upTo = (f: RcuFlavourState, seq: number): number => {
    let n = 0;
    for (const cb of f.inflight) if (cb.seq <= seq) n++;
    return n;
  };
  for (const c of k.cpus) {
    let s = `c${c.id}${c.online ? '' : 'off'}${c.irqsOff ? 'I' : ''}`;
    const st = c.stack;
    for (let i = 0; i < st.length; i++) {
      const x = st[i]!;
      ctxIndex.set(x, `${c.id}.${i}`);
      const barrier = x.barrierSeq < 0 ? '' : `${upTo(rcu.rcu, x.barrierSeq)},${upTo(rcu.trace, x.barrierSeq)}`;
      s += `[${x.level}|${kindOf(x.label)}|${x.started}|${x.fns.join('>')}|${x.waitWhat}|${x.sleeping ? 1 : 0}|${x.rcuDepth},${x.traceDepth},${x.rcuSection}|${x.spinlocks},${x.preemptCount}|${barrier}|${x.refs.length ? x.refs.map((o) => o.id).join(',') : ''}|${historyOf(x)}]`;
    }
    parts.push(s);
  }
  for (const h of k.holders) {
    let s = `${h.name}:`;
    for (let o = h.head(), n = 0; o && n < 4096; o = o.next, n++) s += `${o.id},`;
    parts.push(s);
  }
  let cells = '';
  for (const c of k.cells) cells += `${c.v},`;
  parts.push(cells);
  const slab = k.slab;
  let objs = '';
  for (const o of slab.all) objs += `${o.id}${o.state === 'slab' ? 's' : 'l'}${o.size}>${o.next ? o.next.id : '-'}/${o.pptrBytes}^${objectState(o)};`;
  parts.push(objs);
  parts.push(`slab${slab.live}|${slab.percpuBytes}|${Object.values(slab.armed).join(',')}|${[...slab.structs].map((s) => `${s.name}${s.freed ? 'F' : ''}`).join(',')}`);
  parts.push(`pools:${JSON.stringify(slab.freeLists())}`);
  parts.push(`own:${sim.model.owned.map((o) => o.id).join(',')}|${sim.model.reuseKey()}`);
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
    for (const cb of f.inflight) inflight += `${cbName(cb)},`;
    parts.push(`${f.flavour}:${f.completed}|${gp}|${f.pending.map(cbName).join(',')}|${f.ready.map((q) => q.map(cbName).join(',')).join('/')}|${inflight}`);
  }
  parts.push(`iw:${[...k.pendingIrqWork].map((w) => `${w.name}@${w.cpu}`).join(',')}|${[...k.claimedIrqWork].map((w) => `${w.name}<${ctxIndex.get(w.claimedBy!) ?? '?'}`).join(',')}`);
  parts.push(`wk:${[...k.pendingWork].map((w) => `${w.name}@${w.cpu}${w.unbound ? 'u' : ''}`).join(',')}`);
  parts.push(dataOf(sim, ctxIndex));
  return parts.join('\n');
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
function dataOf(sim: Sim, ctxIndex: Map<object, string>): string {
  const k = sim.k;
  const skip = new Set<object>([k, k.slab, k.rcu, k.rcu.rcu, k.rcu.trace, sim.model, k.pendingIrqWork, k.claimedIrqWork, k.pendingWork, k.holders, k.cells, k.cpus, k.audited]);
  const visited = new Map<object, number>();
  let out = '';
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) {
      if (typeof v === 'string') out += plain(v) ? `"${v}"` : JSON.stringify(v);
      else if (typeof v === 'function') out += 'f';
      else out += String(v);
      return;
    }
    const o = v as Record<string | symbol, unknown>;
    if (o[OBJ] === true) {
      out += `o${(v as Obj).id}`;
      return;
    }
    if (o.constructor === Context) {
      out += ctxIndex.get(v) ?? `x${(v as Context).done ? 'done' : 'off'}`;
      return;
    }
    if (skip.has(v)) {
      out += 'k';
      return;
    }
    // a registered list or counter: keyed above (its only changing field
    // is the list's first node, the counter's value); named by its place
    if (v instanceof LlistHead) {
      const i = k.holders.indexOf(v);
      if (i >= 0) {
        out += `H${i}`;
        return;
      }
    } else if (v instanceof Cell) {
      const i = k.cells.indexOf(v);
      if (i >= 0) {
        out += `C${i}`;
        return;
      }
    }
    const seen = visited.get(v);
    if (seen !== undefined) {
      out += `@${seen}`;
      return;
    }
    visited.set(v, visited.size);
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length; i++) {
        walk(v[i]);
        out += ',';
      }
      out += ']';
    } else if (v instanceof Map) {
      out += 'M{';
      for (const [a, b] of v) {
        walk(a);
        out += '=';
        walk(b);
        out += ',';
      }
      out += '}';
    } else if (v instanceof Set) {
      out += 'S{';
      for (const e of v) {
        walk(e);
        out += ',';
      }
      out += '}';
    } else if (ArrayBuffer.isView(v)) {
      out += `B[${Array.prototype.join.call(v, ',')}]`;
    } else {
      // own enumerable fields (class getters are on the prototype and not
      // enumerable: the fields behind them are read instead)
      out += '{';
      for (const f in o) {
        if (!Object.hasOwn(o, f) || CACHES.has(f)) continue;
        const x = o[f];
        if (typeof x === 'function') continue;
        out += `${f}:`;
        walk(x);
        out += ',';
      }
      out += '}';
    }
  };
  walk(sim.state);
  return out;
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
