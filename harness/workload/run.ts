// One workload run: a use case on one policy, as a discrete-event
// simulation in modelled time over the policy's own spec functions.
//
// Each CPU does one thing at a time, each to its end at one instant (a
// map operation of its producer, a round of RCU callbacks in softirq, a
// kworker), and is then busy for what that cost (constants.ts, the cost
// counters of engine.ts, times the scale). Between those, in time order:
// grace periods end (clock time after they began), kworkers become due,
// a producer's partner releases it, memory is sampled. The only clock is
// the modelled one; the only order among equal times is the order of
// scheduling: the same flags give the same numbers.
import type { Policy } from '../../spec/policies/policy.ts';
import { Clock } from './clock.ts';
import { constants as defaults, RCU_TRACE_IMPLIES_RCU_GP, SAMPLE_NS, type Constants } from './constants.ts';
import { Machine, type Flavour, type Tally, type Work } from './engine.ts';
import { measure, type Sample } from './memory.ts';
import { Htab, producers, type Producer, type UseCaseName } from './usecases.ts';

export interface RunOptions {
  policy: Policy<unknown>;
  useCase: UseCaseName;
  cpus: number;
  /** modelled seconds */
  seconds: number;
  /** CPU time dilation (constants.ts, SCALING) */
  scale: number;
  constants?: Partial<Constants>;
  sampleNs?: number;
}

export interface RunResult {
  policy: string;
  useCase: UseCaseName;
  /** time average of the sampled memory, MiB (scaled back) */
  avgMiB: number;
  /** the largest sample, MiB (scaled back) */
  peakMiB: number;
  /** when the peak was sampled, modelled ms */
  peakAtMs: number;
  /** objects per kind of list at the peak (scaled back) */
  atPeak: Record<string, number>;
  /** program runs (one syscall each) per producer per second, thousands,
   *  in real time (ops x scale): the benchmark's per-prod-op */
  loopsK: number;
  /** map updates that failed for want of memory */
  allocFailures: number;
  /** elements kmalloc()ed from slab per element a map update got (0:
   *  every one reused; 1: none; a refill's batch counts when it is made) */
  slabPerAlloc: number;
  /** spec steps the run took */
  steps: number;
  /** the memory curve, MiB per sample */
  series: { tMs: number[]; mib: number[] };
}

type Ev = { k: 'cpu'; cpu: number } | { k: 'gp'; f: Flavour; gp: object } | { k: 'sample' };

interface CpuState {
  busyUntil: number;
  /** time of this CPU's pending dispatch event (Infinity: none) */
  next: number;
  /** softirq rounds in a row (MAX_SOFTIRQ_RESTART, then ksoftirqd) */
  rounds: number;
  /** ksoftirqd's CPU time beyond the producer's since it took over: it
   *  runs again once the producer has had as much (an equal CFS share) */
  owed: number;
  /** the producer's position in its program, and whether it waits for
   *  its partner */
  pos: number;
  blocked: boolean;
  programs: number;
}

const MIB = 1024 * 1024;
const GP_FLAVOURS: readonly Flavour[] = ['rcu', 'rcu_tasks_trace'];

export function runWorkload(o: RunOptions): RunResult {
  const c = { ...defaults(), ...(o.constants ?? {}) };
  const scale = o.scale;
  const end = o.seconds * 1e9;
  const sampleNs = o.sampleNs ?? SAMPLE_NS;
  const m = new Machine(o.policy, { cpus: o.cpus, size: c.elemSize, rcuTraceImpliesRcuGp: RCU_TRACE_IMPLIES_RCU_GP });
  const map = new Htab(m, c.elemSize);
  const prods: Producer[] = producers(o.useCase, o.cpus, c.opBatch);
  const clock = new Clock<Ev>();
  const cpus: CpuState[] = prods.map((p) => ({ busyUntil: 0, next: Infinity, rounds: 0, owed: 0, pos: 0, blocked: !p.first, programs: 0 }));
  const gpLen: Record<Flavour, number> = { rcu: c.rcuGpNs, rcu_tasks_trace: c.rcuGpNs + c.tasksTraceExtraNs };
  const knownGp: Record<Flavour, object | null> = { rcu: null, rcu_tasks_trace: null };
  const queuedAt = new Map<Work, number>();
  const samples: Sample[] = [];

  const kick = (cpu: number, t: number): void => {
    const s = cpus[cpu]!;
    const at = Math.max(t, s.busyUntil);
    if (at < s.next) {
      s.next = at;
      clock.at(at, { k: 'cpu', cpu });
    }
  };
  const cost = (a: Tally, b: Tally): number =>
    (b.steps - a.steps) * c.stepNs + (b.kmalloc - a.kmalloc) * c.kmallocNs + (b.kfree - a.kfree) * c.kfreeNs + (b.callRcu - a.callRcu) * c.callRcuNs + (b.irqWork - a.irqWork) * c.irqWorkNs;

  /** After anything ran: grace periods it started end later; works it
   *  queued become due after the wake-up latency. */
  const notice = (now: number): void => {
    for (const f of GP_FLAVOURS) {
      const g = m.gp(f);
      if (g !== null && g !== knownGp[f]) {
        knownGp[f] = g;
        clock.at(now + gpLen[f], { k: 'gp', f, gp: g });
      }
    }
    for (const w of m.pendingWork()) {
      if (queuedAt.has(w)) continue;
      const due = now + c.wqWakeNs * scale;
      queuedAt.set(w, due);
      kick(w.cpu, due);
    }
  };

  const dispatch = (cpu: number, now: number): void => {
    const s = cpus[cpu]!;
    const p = prods[cpu]!;
    const before = m.tally();
    let extra = 0;
    const ready = m.readyCallbacks(cpu);
    if (ready === 0) s.rounds = s.owed = 0;
    const w = m.work(cpu);
    const wDue = w ? queuedAt.get(w)! : Infinity;
    // softirq on the way out of an interrupt, MAX_SOFTIRQ_RESTART rounds;
    // then ksoftirqd, which gets the CPU when the producer has had as much
    const softirq = ready > 0 && (s.rounds < c.softirqRestart || s.owed <= 0 || s.blocked);
    let did: 'softirq' | 'kworker' | 'producer';
    if (softirq) {
      // rcu_do_batch(): at least blimit, or pending >> rcu_divisor
      const n = Math.min(ready, Math.max(c.blimit, ready >> c.rcuDivisor));
      for (let i = 0; i < n; i++) m.callback(cpu);
      extra += c.softirqNs;
      did = 'softirq';
    } else if (w && wDue <= now) {
      queuedAt.delete(w);
      m.kworker(cpu, w);
      extra += c.kworkerNs;
      did = 'kworker';
    } else if (!s.blocked) {
      const op = p.program[s.pos]!;
      if (s.pos === 0) extra += c.syscallNs;
      if (op.kind === 'noop') {
        // no_op: bpf_loop() without the map, nothing reaches the
        // allocator: the whole program at once
        extra += c.loopIterNs * (p.program.length - s.pos);
        s.pos = p.program.length;
      } else {
        extra += c.loopIterNs + (op.kind === 'delete' ? c.htabDeleteNs : c.htabUpdateNs);
        m.task(cpu, 'prog', (x) => map.op(x, op));
        s.pos++;
      }
      if (s.pos === p.program.length) {
        s.pos = 0;
        s.programs++;
        // pthread_barrier_wait(): the partner runs its program next, once
        // this one has ended (below)
        if (p.partner !== null) s.blocked = true;
      }
      did = 'producer';
    } else {
      if (w) kick(cpu, wDue); // idle until the work is due
      return;
    }
    const spent = (cost(before, m.tally()) + extra) * scale;
    if (did === 'softirq') {
      if (++s.rounds > c.softirqRestart) s.owed += spent;
    } else if (did === 'producer') s.owed -= spent;
    s.busyUntil = now + spent;
    if (did === 'producer' && s.pos === 0 && p.partner !== null) {
      cpus[p.partner]!.blocked = false;
      kick(p.partner, s.busyUntil + c.barrierWakeNs * scale);
    }
    notice(now);
    kick(cpu, s.busyUntil);
  };

  for (let cpu = 0; cpu < o.cpus; cpu++) kick(cpu, 0);
  notice(0);
  clock.at(sampleNs, { k: 'sample' });
  for (let e = clock.next(); e && e.t <= end; e = clock.next()) {
    const now = e.t;
    const ev = e.what;
    if (ev.k === 'cpu') {
      const s = cpus[ev.cpu]!;
      if (s.next !== now) continue; // superseded by an earlier kick
      s.next = Infinity;
      dispatch(ev.cpu, now);
    } else if (ev.k === 'gp') {
      if (m.gp(ev.f) !== ev.gp) continue;
      if (!m.endGp(ev.f)) {
        clock.at(now + 1000, ev); // a reader still inside: try again
        continue;
      }
      for (let cpu = 0; cpu < o.cpus; cpu++) if (m.readyCallbacks(cpu) > 0) kick(cpu, now);
      notice(now);
    } else {
      samples.push(measure(m, now, map.elems.size, scale, c.pageSize));
      clock.at(now + sampleNs, { k: 'sample' });
    }
  }

  let peak = samples[0] ?? { t: 0, bytes: 0, lists: {} };
  let sum = 0;
  for (const s of samples) {
    sum += s.bytes;
    if (s.bytes > peak.bytes) peak = s;
  }
  const programs = cpus.reduce((a, s) => a + s.programs, 0);
  return {
    policy: o.policy.name,
    useCase: o.useCase,
    avgMiB: samples.length ? sum / samples.length / MIB : 0,
    peakMiB: peak.bytes / MIB,
    peakAtMs: peak.t / 1e6,
    atPeak: peak.lists,
    loopsK: (programs * scale) / o.seconds / o.cpus / 1000,
    allocFailures: map.failures,
    slabPerAlloc: map.allocs ? m.objectKmallocs / map.allocs : 0,
    steps: m.steps,
    series: { tMs: samples.map((s) => s.t / 1e6), mib: samples.map((s) => s.bytes / MIB) },
  };
}
