// The footprint audit (issue 19, must-show 3): does every step write only
// what its event says it wrote? Before and after each step, a digest of
// every owner of state (spec/kernel/events.ts Loc): each list head, counter,
// lock, irq_work, work, rcu_head, RCU flavour, CPU's readers, the slab, the
// percpu bytes, each allocator object (link, state, size) and each freeable
// structure's plain fields (with the plain arrays and maps it holds); what
// the policy's state holds outside any owner is one more digest, `rest`. An
// owner whose digest changed during a step that does not name it among its
// writes is a failure; a step whose footprint is unknown (it counts as
// touching everything) is counted, not checked. Used by the footprint test
// (test/spec/kernel/footprint.test.ts) and by whoever relies on footprints
// (a DPOR search must run only on families this audit passes).
import { Cell } from '../spec/kernel/atomic.ts';
import { Context } from '../spec/kernel/context.ts';
import { isCoarse, type Event, type Loc } from '../spec/kernel/events.ts';
import { IrqWork } from '../spec/kernel/irq_work.ts';
import type { Kernel } from '../spec/kernel/kernel.ts';
import { LlistHead } from '../spec/kernel/llist.ts';
import { Mutex } from '../spec/kernel/mutex.ts';
import { RcuHead, type RcuFlavourState } from '../spec/kernel/rcupdate.ts';
import { RawSpinlock } from '../spec/kernel/spinlock.ts';
import { Violation } from '../spec/kernel/types.ts';
import { Work } from '../spec/kernel/workqueue.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { Sim } from './sim.ts';

const OBJ = Symbol.for('allocspec.Obj');
/** The policy state's data outside every owner. */
const REST: Loc = { name: '(state outside any owner)' };

const cbs = (f: RcuFlavourState): string =>
  `${f.completed}|${f.gp ? `${f.gp.upTo}:${f.gp.readers.length}` : '-'}|${f.pending.map((c) => c.seq).join(',')}|${f.ready.map((q) => q.map((c) => c.seq).join(',')).join('/')}|${[...f.inflight].map((c) => c.seq).join(',')}`;

/** Every owner's digest, by owner. */
export function digests(k: Kernel, state: unknown): Map<Loc, string> {
  const out = new Map<Loc, string>();
  const slab = k.slab;
  out.set(slab, `${slab.created}|${slab.live}|${JSON.stringify(slab.freeLists())}|${Object.values(slab.armed).join(',')}|${[...slab.structs].map((s) => s.name).join(',')}`);
  out.set(slab.percpu, String(slab.percpuBytes));
  for (const o of slab.all) out.set(o, `${o.state}|${o.next ? o.next.id : '-'}|${o.size}|${o.pptrBytes}`);
  out.set(k.rcu.rcu, cbs(k.rcu.rcu));
  out.set(k.rcu.trace, cbs(k.rcu.trace));
  for (const c of k.cpus) {
    let r = '';
    for (const x of c.stack) if (x.rcuDepth || x.traceDepth) r += `${x.id}:${x.rcuDepth},${x.traceDepth},${x.rcuSection};`;
    out.set(k.rcu.readers[c.id]!, r);
  }
  for (const h of k.holders) {
    let s = '';
    for (let o = h.head(), n = 0; o && n < 4096; o = o.next, n++) s += `${o.id},`;
    out.set(h, s);
  }
  for (const c of k.cells) out.set(c, String(c.v));
  // the policy's state: owners and the plain data each holds
  const seen = new Set<object>();
  const text = new Map<Loc, string[]>();
  const add = (loc: Loc, s: string): void => {
    let l = text.get(loc);
    if (!l) text.set(loc, (l = []));
    l.push(s);
  };
  const name = (v: unknown): string => {
    if (typeof v !== 'object' || v === null) return typeof v === 'function' ? 'f' : JSON.stringify(v) ?? String(v);
    const o = v as Record<string | symbol, unknown>;
    if (o[OBJ] === true) return `o${(v as { id: number }).id}`;
    if (v instanceof Context) return `x${v.id}`;
    if (typeof o.name === 'string') return `<${o.name}>`;
    return '{}';
  };
  const walk = (v: unknown, owner: Loc): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    const o = v as Record<string | symbol, unknown>;
    if (o[OBJ] === true || v instanceof Context || v === k || v === slab || v === k.rcu) return;
    seen.add(v);
    if (v instanceof LlistHead || v instanceof Cell) {
      if (!out.has(v)) out.set(v, v instanceof Cell ? String(v.v) : `${v.first ? v.first.id : '-'}`);
      return;
    }
    if (v instanceof IrqWork) {
      out.set(v, `${v.pending}|${v.queued}|${v.busy}|${v.cpu}|${v.claimedBy ? v.claimedBy.id : '-'}|${k.pendingIrqWork.has(v)}`);
      return;
    }
    if (v instanceof Work) {
      out.set(v, `${v.pending}|${v.running ? v.running.id : '-'}|${v.cpu}|${v.unbound}|${k.pendingWork.has(v)}`);
      return;
    }
    if (v instanceof RawSpinlock || v instanceof Mutex) {
      out.set(v, v.holder ? String(v.holder.id) : '-');
      return;
    }
    if (v instanceof RcuHead) {
      out.set(v, String(v.queued));
      return;
    }
    // a freeable structure is an owner of its own plain fields
    const isOwner = typeof o.freed === 'boolean' && typeof o.name === 'string';
    const here: Loc = isOwner ? (v as Loc) : owner;
    if (Array.isArray(v)) {
      add(here, `[${v.map(name).join(',')}]`);
      for (const e of v) walk(e, here);
    } else if (v instanceof Map) {
      add(here, `M{${[...v].map(([a, b]) => `${name(a)}=${name(b)}`).join(',')}}`);
      for (const [a, b] of v) {
        walk(a, here);
        walk(b, here);
      }
    } else if (v instanceof Set) {
      add(here, `S{${[...v].map(name).join(',')}}`);
      for (const e of v) walk(e, here);
    } else if (ArrayBuffer.isView(v)) {
      add(here, `B[${Array.prototype.join.call(v, ',')}]`);
    } else {
      let s = '{';
      for (const f in o) {
        if (!Object.hasOwn(o, f) || f === 'ownerName' || f === 'fullName') continue;
        const x = o[f];
        if (typeof x === 'function') continue;
        s += `${f}:${name(x)},`;
      }
      add(here, `${s}}`);
      for (const f in o) if (Object.hasOwn(o, f)) walk(o[f], here);
    }
  };
  walk(state, REST);
  for (const [loc, parts] of text) out.set(loc, parts.join(';'));
  return out;
}

export interface FootprintFailure {
  /** the step's event */
  event: Event;
  /** owners it changed without naming them among its writes */
  unnamed: string[];
}

export interface FootprintAudit {
  steps: number;
  /** steps whose footprint is unknown (they count as touching everything) */
  coarse: number;
  /** steps that wrote outside their footprint (the first few in failures) */
  failing: number;
  failures: FootprintFailure[];
  /** the ops (primitive or 'code') of the coarse steps, counted */
  coarseOps: Map<string, number>;
}

/** Run cmds on policy under cfg, auditing every step's footprint. */
export function auditFootprints(policy: Policy<unknown>, cfg: CheckConfig, lists: readonly (readonly Cmd[])[], maxFailures = 20): FootprintAudit {
  const res: FootprintAudit = { steps: 0, coarse: 0, failing: 0, failures: [], coarseOps: new Map() };
  for (const cmds of lists) {
    let sim: Sim;
    try {
      sim = new Sim(policy, cfg);
    } catch (e) {
      if (e instanceof Violation) continue;
      throw e;
    }
    const k = sim.k;
    const events: Event[] = [];
    k.record = events;
    let before: Map<Loc, string> | null = null;
    k.beforeStep = () => {
      before = digests(k, sim.state);
    };
    // after each step (its event is the last recorded): compare
    const prev = k.onStep;
    k.onStep = (x) => {
      prev?.(x);
      const e = events[events.length - 1]!;
      res.steps++;
      if (isCoarse(e)) {
        res.coarse++;
        res.coarseOps.set(e.op, (res.coarseOps.get(e.op) ?? 0) + 1);
        return;
      }
      const after = digests(k, sim.state);
      const unnamed: string[] = [];
      for (const [loc, d] of after) {
        const b = before!.get(loc);
        if (b !== undefined && b !== d && !e.writes.includes(loc)) unnamed.push(loc.name);
      }
      if (unnamed.length) {
        res.failing++;
        if (res.failures.length < maxFailures) res.failures.push({ event: e, unnamed });
      }
    };
    try {
      for (const c of cmds) {
        if (sim.over) break;
        sim.exec(c);
      }
      sim.finish();
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
    }
  }
  return res;
}
