// Sleep sets for the breadth-first exhaustive search (harness/
// exhaustive.ts), over the states it caches (Godefroid 1996, ch. 5: sleep
// sets with state caching).
//
// A letter's footprint is what running it as itself from a state read and
// wrote, at the grain of a whole command: the owners its steps named
// (spec/kernel/events.ts: list heads, counters, locks, irq_works, works,
// rcu_heads, RCU flavours, the slab, objects, structures), plus what the
// harness and the model touch around them, which no step names:
//
//   - the CPU it runs on (#cpuN, written: every context on that CPU), and
//     whether an interrupt is pending there (#irqN, read: every per-CPU
//     letter asks allowed(); written by whoever queues or takes an
//     irq_work for that CPU); a kworker letter reads the work queue (#work,
//     written by whoever queues or takes a work: unbound work runs
//     anywhere); a softirq letter reads both RCU flavours (ready callbacks);
//   - who owns what (#ownedN: the objects programs on CPU N were handed,
//     which a free or lookup letter with `from: N` reads and writes;
//     #own:objM: whether objM is owned, which handing it out checks);
//   - the read-side sections a CPU leaves open (cpuN.rcu_readers), written
//     only when the letter changed them (a section opened and closed within
//     one command is invisible to a command on another CPU, which runs
//     wholly before or after it), read by a release (the model stamps which
//     open sections could have seen the object), by kfree (RcuSafety looks
//     at every open section) and by whatever writes an RCU flavour or the
//     slab (a grace period snapshots the readers);
//   - an allocation that failed reads the slab and the claimed irq_works
//     (the model's NoAllocFailure judgements look at them).
//
// A fault letter arming a kmalloc or percpu failure writes the slab.
// Everything else counts as touching everything (EVERY): a letter of no
// CPU (grace periods, the other faults, teardown, quiesce), any letter while a
// context sleeps on a timer (each command ticks every timer), a step whose
// footprint is unknown (a family without exact footprints: every step of
// it), a letter that hit a violation.
//
// Two letters run from one state are independent when neither writes what
// the other reads or writes. From a state expanded with sleep set Z, the
// letters a1 < a2 < ... it runs (alphabet order, the ones not in Z) lead
// to successors with sleep sets Z_i = { b in Z u {a1..a(i-1)} : b
// independent of a_i }: b need not be run after a_i, since a_i after b
// reaches the same state and was (or will be) run from the state b leads
// to. A state's sleep set is the intersection over every way the search
// reached it at its depth; the letters it does not run are kept (a mask),
// and when a later depth reaches it again with a sleep set that leaves
// some of them out, those are run from there (a revisit expands what falls
// out of the intersection). Sleep sets cut transitions, never states: the
// tests compare the states, depth by depth, with the search without them.
//
// Footprints name objects by their ids in the run of the path that
// reached the state; a successor's sleep set keeps the footprints of the
// lowest-numbered path that reached it, which is the path the next depth
// replays (the ids of a replay are the same every time).
import type { Event, Loc } from '../../spec/kernel/events.ts';
import { isCoarse } from '../../spec/kernel/events.ts';
import { IrqWork } from '../../spec/kernel/irq_work.ts';
import type { Kernel } from '../../spec/kernel/kernel.ts';
import { Work } from '../../spec/kernel/workqueue.ts';
import type { Cmd } from '../commands.ts';
import type { Sim } from '../sim.ts';

/** The footprint of a letter that touches everything. */
export const EVERY = '*';

/** Any context asleep on a timer (each command ticks every timer)? */
function timers(k: Kernel): boolean {
  for (const c of k.cpus) for (const x of c.stack) if (x.sleepTicks > 0) return true;
  return false;
}

/** The read-side sections open on each CPU, and what their readers hold. */
function readers(k: Kernel): string[] {
  return k.cpus.map((c) => {
    let s = '';
    for (const x of c.stack) if (x.rcuDepth || x.traceDepth) s += `${x.id}:${x.rcuDepth},${x.traceDepth},${x.rcuSince},${x.traceSince},${x.refs.map((o) => o.id).join('.')};`;
    return s;
  });
}

/** Run c, the last letter of a path, on sim (it must run as itself: the
 *  caller checks), and return its footprint as text (reads, then writes,
 *  names sorted) or EVERY. A violation propagates (its footprint is EVERY). */
export function execRecorded(sim: Sim, c: Cmd): string {
  const k = sim.k;
  if (c.t === 'fault' && (c.kind === 'kmalloc' || c.kind === 'percpu') && !timers(k)) {
    // arms a failure of the next kmalloc / __alloc_percpu_gfp: the slab's
    // state, which every such call reads and writes
    sim.exec(c);
    return `\u0002${[k.slab.name, k.slab.percpu.name].sort().join('\u0001')}`;
  }
  if (!('cpu' in c) || c.t === 'destroy' || c.t === 'burst' || timers(k) || ((c.t === 'prog' || c.t === 'nmi') && c.op !== 'alloc' && c.from === undefined)) {
    sim.exec(c);
    return EVERY;
  }
  const cpu = c.cpu;
  const r = new Set<string>();
  const w = new Set<string>();
  const rd = (loc: Loc): void => void r.add(loc.name);
  const allReaders = (): void => k.rcu.readers.forEach(rd);
  const flavours = (): void => {
    rd(k.rcu.rcu);
    rd(k.rcu.trace);
  };
  w.add(`#cpu${cpu}`);
  r.add(`#irq${cpu}`);
  if (c.t === 'kworker') r.add('#work');
  if (c.t === 'softirq') flavours();
  if ((c.t === 'prog' || c.t === 'nmi') && c.from !== undefined && c.op !== 'alloc') {
    // object #0 of that CPU's: the head of its list (a program of several
    // objects reads further, where an allocation appends)
    (c.op === 'lookup' ? r : w).add(`#owned${c.from}`);
    if (c.t === 'prog' && c.count > 1) r.add(`~owned${c.from}`);
  }
  // the model: who owns what, and what its judgements read
  const m = sim.model;
  m.spy = {
    allocated(x, obj) {
      w.add(`#own:${obj.name}`);
      // appended: object #0 of a non-empty list stays where it was
      w.add(`~owned${x.cpu}`);
      rd(k.rcu.rcu);
    },
    released(obj, origin) {
      w.add(`#own:${obj.name}`);
      w.add(`#owned${origin}`);
      allReaders();
      flavours();
    },
    allocFailed() {
      rd(k.slab);
      r.add('~irqclaim');
    },
    kfree(obj) {
      r.add(`#own:${obj.name}`);
      allReaders();
    },
  };
  const before = readers(k);
  const rec: Event[] = [];
  const was = k.record;
  k.record = rec;
  let coarse = false;
  try {
    sim.exec(c);
  } finally {
    k.record = was;
    m.spy = null;
  }
  if (timers(k)) return EVERY;
  const readerLocs = new Set<Loc>(k.rcu.readers);
  for (const e of rec) {
    if (isCoarse(e)) coarse = true;
    for (const l of e.reads) rd(l);
    for (const l of e.writes) {
      if (readerLocs.has(l)) continue; // net change only (below)
      w.add(l.name);
      if (l instanceof IrqWork) {
        w.add(`#irq${l.cpu}`);
        w.add(`#irq${e.cpu}`);
        w.add('~irqclaim');
      } else if (l instanceof Work) w.add('#work');
      else if (l === k.rcu.rcu || l === k.rcu.trace) allReaders();
    }
  }
  if (coarse) return EVERY;
  const after = readers(k);
  for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) w.add(k.rcu.readers[i]!.name);
  return `${[...r].sort().join('\u0001')}\u0002${[...w].sort().join('\u0001')}`;
}

/** Footprints interned: 0 is EVERY. */
export class Footprints {
  private readonly ids = new Map<string, number>([[EVERY, 0]]);
  private readonly locs = new Map<string, number>();
  private readonly fps: { r: Set<number>; w: number[] }[] = [{ r: new Set(), w: [] }];
  private readonly memo = new Map<number, boolean>();

  intern(text: string): number {
    let id = this.ids.get(text);
    if (id !== undefined) return id;
    id = this.fps.length;
    this.ids.set(text, id);
    const [rs, ws] = text.split('\u0002') as [string, string];
    const loc = (n: string): number => {
      let l = this.locs.get(n);
      if (l === undefined) this.locs.set(n, (l = this.locs.size));
      return l;
    };
    const wn = ws ? ws.split('\u0001') : [];
    const w = wn.map(loc);
    // a write is a read too, except a commutative one (~: appending to a
    // list whose head is what others read; claiming an irq_work, which
    // only a failing allocation's judgement reads as a set): two of them
    // do not conflict, a read of it does
    const r = new Set<number>([...(rs ? rs.split('\u0001').map(loc) : []), ...wn.filter((n) => n[0] !== '~').map(loc)]);
    this.fps.push({ r, w });
    return id;
  }

  /** Neither writes what the other reads or writes. */
  independent(a: number, b: number): boolean {
    if (a === 0 || b === 0) return false;
    if (a === b) return this.check(a, b);
    const key = a < b ? a * 0x100000 + b : b * 0x100000 + a;
    let v = this.memo.get(key);
    if (v === undefined) this.memo.set(key, (v = this.check(a, b)));
    return v;
  }

  private check(a: number, b: number): boolean {
    const x = this.fps[a]!;
    const y = this.fps[b]!;
    for (const l of x.w) if (y.r.has(l)) return false;
    for (const l of y.w) if (x.r.has(l)) return false;
    return true;
  }

  get size(): number {
    return this.fps.length;
  }
}

/** A state to expand: the path that reaches it, the letters to run from
 *  it (alphabet indices, ascending), and its sleep set: pairs of a letter
 *  and its footprint's id. */
export interface SleepNode {
  path: Uint8Array;
  next: Uint8Array;
  sleep: Int32Array;
  /** letters that do not run as themselves here (a revisit: 0) */
  skipped: number;
}

/** What one transition of a depth found, in job order: the state's key
 *  (null: a violation, a known finding, or a state seen before this depth
 *  that ran every letter it has: nothing to do there) and the footprint
 *  of its letter. */
export interface Step {
  node: number;
  letter: number;
  fp: number;
  key: string | null;
}

const NONE = new Int32Array(0);

/** The bookkeeping across depths: the letters each state has not run
 *  (its mask), and the step from one depth's transitions to the next
 *  depth's nodes. */
export class SleepSets {
  readonly fps = new Footprints();
  /** per state whose sleep set kept some letters from running: those
   *  letters (bit i: letter i) */
  private readonly masks = new Map<string, bigint>();
  /** states reached again with a smaller sleep set, and the letters
   *  that fell out of it and were run */
  revisits = 0;
  /** letters a new state did not run because they were in its sleep set */
  slept = 0;

  constructor(private readonly alphabet: number) {}

  /** Does a transition that reached this state already seen before this
   *  depth matter to the sleep sets (it kept letters from running)? Those
   *  that do not are logged without their key. */
  masked(key: string): boolean {
    return this.masks.has(key);
  }

  static root(path: Uint8Array, next: Uint8Array, alphabet: number): SleepNode {
    return { path, next, sleep: NONE, skipped: alphabet - next.length };
  }

  /** The next depth's nodes from this depth's transitions (all of them, in
   *  job order: each node's letters are consecutive jobs). `fresh`: the
   *  states first reached at this depth, with the letters that run as
   *  themselves there. Nodes come out ordered by the lowest job that
   *  reached them. */
  next(frontier: readonly SleepNode[], steps: readonly Step[], fresh: ReadonlyMap<string, Uint8Array>): SleepNode[] {
    const fps = this.fps;
    const arrivals = new Map<string, { job: number; path: Uint8Array | null; node: number; letter: number; sleep: number[] }>();
    let j = 0;
    for (let n = 0; n < frontier.length; n++) {
      const node = frontier[n]!;
      const explored: number[] = [];
      for (let i = 0; i < node.next.length; i++, j++) {
        const s = steps[j]!;
        if (s.node !== n || s.letter !== node.next[i]) throw new Error('exhaustive: sleep sets out of step with the transitions');
        const f = s.fp;
        const key = s.key;
        const wanted = key !== null && (fresh.has(key) || this.masks.has(key));
        let z: number[] | null = null;
        if (wanted) {
          z = [];
          for (let e = 0; e < node.sleep.length; e += 2) if (fps.independent(node.sleep[e + 1]!, f)) z.push(node.sleep[e]!, node.sleep[e + 1]!);
          for (let e = 0; e < explored.length; e += 2) if (fps.independent(explored[e + 1]!, f)) z.push(explored[e]!, explored[e + 1]!);
        }
        explored.push(s.letter, f);
        if (!wanted) continue;
        const had = arrivals.get(key!);
        if (!had) arrivals.set(key!, { job: j, path: null, node: n, letter: s.letter, sleep: z! });
        else {
          // the intersection, with the first (lowest) arrival's footprints
          const keep = new Set<number>();
          for (let e = 0; e < z!.length; e += 2) keep.add(z![e]!);
          const out: number[] = [];
          for (let e = 0; e < had.sleep.length; e += 2) if (keep.has(had.sleep[e]!)) out.push(had.sleep[e]!, had.sleep[e + 1]!);
          had.sleep = out;
        }
      }
    }
    if (j !== steps.length) throw new Error('exhaustive: sleep sets out of step with the transitions');
    const out: SleepNode[] = [];
    for (const [key, a] of arrivals) {
      const parent = frontier[a.node]!;
      let zmask = 0n;
      for (let e = 0; e < a.sleep.length; e += 2) zmask |= 1n << BigInt(a.sleep[e]!);
      let run: number[];
      let skipped = 0;
      const enabled = fresh.get(key);
      if (enabled) {
        run = [];
        let kept = 0n;
        for (const l of enabled) {
          if (zmask & (1n << BigInt(l))) {
            kept |= 1n << BigInt(l);
            this.slept++;
          } else run.push(l);
        }
        if (kept) this.masks.set(key, kept);
        skipped = this.alphabet - enabled.length;
      } else {
        const m = this.masks.get(key)!;
        const fell = m & ~zmask;
        if (!fell) continue;
        const rest = m & zmask;
        if (rest) this.masks.set(key, rest);
        else this.masks.delete(key);
        run = [];
        for (let l = 0; (fell >> BigInt(l)) > 0n; l++) if (fell & (1n << BigInt(l))) run.push(l);
        this.revisits++;
      }
      if (!run.length) continue;
      const path = new Uint8Array(parent.path.length + 1);
      path.set(parent.path);
      path[parent.path.length] = a.letter;
      out.push({ path, next: Uint8Array.from(run), sleep: Int32Array.from(a.sleep), skipped });
    }
    return out;
  }
}
