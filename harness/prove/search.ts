// The prove search, Loom-style and stateless: depth-first over the
// interleavings of a scenario's agents (harness/prove/run.ts), every
// execution replayed from boot through the check's own run, with
//
//   DPOR        source sets (Abdulla et al., POPL'14): after each action,
//               each race with an earlier action (conflicting footprints,
//               different agents, no happens-before between them but the
//               direct one) asks that some initial of the reversed order
//               be explored at the earlier point; happens-before is kept
//               as vector clocks over the agents
//   sleep sets  an agent explored at a node sleeps in the subtrees of its
//               later siblings until an action conflicting with its own runs
//   bounds      a preemption is a switch away from a CPU whose context
//               could go on, to another CPU's work; an interrupt is one of
//               the kernel's arrivals (an RCU callback, a kworker, a grace
//               period end, the RT irq_work kthread) chosen while a CPU's
//               context could go on. Both are free when nothing could go
//               on. The scenario's own arrivals (each NMI, the teardown,
//               hotplug, an injected failure) happen once each, at every
//               point they may: they count against neither bound. Backtracking
//               that a bound forbids at the racing point is also asked at
//               the last switch before it (Loom's conservative rule for
//               bounded DPOR; Coons et al., OOPSLA'13)
//
// A footprint that is unknown counts as writing everything: it conflicts
// with every action (sound, only less reduced). With `dpor: false` every
// enabled agent is explored at every node (plain DFS under the same
// bounds): the soundness tests compare the two.
import type { InvariantName } from '../../model/invariants.ts';
import { Violation } from '../../spec/kernel/types.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Scenario } from '../../spec/policies/scenario.ts';
import type { Cmd } from '../commands.ts';
import type { CheckConfig } from '../config.ts';
import { agentsOf, Kind, type Agent } from './agents.ts';
import { Interner, Marks, type Fp } from './footprints.ts';
import { lowest } from './races.ts';
import { Races, type Node } from './races.ts';
import { Run } from './run.ts';
import { findingsOf } from '../findings.ts';
import { classifier } from '../witness.ts';

export interface SearchOptions {
  preemptions: number;
  /** the kernel's arrivals while a CPU could go on, bounded apart from
   *  preemptions; null: they count as preemptions */
  interrupts: number | null;
  /** false: plain DFS, every enabled agent at every node */
  dpor: boolean;
  /** sleep sets (default: with DPOR) */
  sleepSets?: boolean;
  /** executions at most; reaching it leaves the scenario truncated */
  maxExecutions: number;
  promise: readonly InvariantName[];
  /** observations noted, not thrown (the policy's known findings) */
  tolerate: ReadonlySet<string>;
  /** invariants that are the policy's known findings: recorded, the search goes on */
  known: ReadonlySet<string>;
  /** shards: the first `depth` nodes are expanded fully and each subtree
   *  below them is a unit; only units with `mine(unit)` are searched */
  split?: { depth: number; mine(unit: number): boolean };
  /** every execution that ran to its end, before the end-of-run judges
   *  (tests: final states) */
  onFinal?(run: Run): void;
  /** every judged execution, with its verdict */
  onExecution?(run: Run, violation: Violation | null): void;
}

export interface Found {
  invariant: InvariantName;
  message: string;
  /** the schedule: the commands that reproduce it */
  commands: Cmd[];
  /** executions up to and including the one that found it */
  execution: number;
  seconds: number;
}

export interface SearchResult {
  complete: boolean;
  /** judged executions */
  executions: number;
  /** executions cut short by a sleep set (equivalent to one explored) */
  blocked: number;
  seconds: number;
  cpuSeconds: number;
  violation: Found | null;
  known: Found[];
  /** the most preemptions and interrupts an execution used */
  maxPreemptions: number;
  maxInterrupts: number;
  /** the longest execution, in actions */
  maxActions: number;
  /** races whose reversal could not be placed exactly (all enabled added) */
  fallbacks: number;
  /** actions fired: replayed quietly from a shared prefix, and new ones
   *  (recorded, analysed) */
  replayed: number;
  recorded: number;
  /** subtrees below the split depth: all, and searched here */
  units: number;
  unitsSearched: number;
}

const WRITES_ALL: Fp = { r: [], w: [], ra: false, wa: true };


export function search(policy: Policy<unknown>, cfg: CheckConfig, scenario: Scenario, o: SearchOptions): SearchResult {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const agents = agentsOf(scenario, cfg);
  const A = agents.length;
  const intern = new Interner();
  const useSleep = o.sleepSets ?? o.dpor;
  const shared = o.interrupts === null;
  const maxIrq = o.interrupts ?? 0;
  const bounded = Number.isFinite(o.preemptions) || (!shared && Number.isFinite(maxIrq));
  // the agents that continue CPU c's own work
  const cpuWork: number[] = Array.from({ length: cfg.cpus }, () => 0);
  for (const a of agents) if (a.cpuWork) cpuWork[a.cpu]! |= 1 << a.id;

  // a violation of a known finding's invariant is that finding only where
  // its signature matches (an invariant the caller lists that no finding
  // of the policy names is recorded as it is: tests compare every verdict)
  const signed = new Set<string>(findingsOf(policy, cfg.name).map((k) => k.invariant));
  const which = classifier(policy, cfg, { promise: o.promise, tolerate: o.tolerate, known: [...o.known] });
  const isKnown = (v: Violation, f: Found): boolean => o.known.has(v.invariant) && (!signed.has(v.invariant) || which(v, () => f.commands) !== null);

  const res: SearchResult = {
    complete: false,
    executions: 0,
    blocked: 0,
    seconds: 0,
    cpuSeconds: 0,
    violation: null,
    known: [],
    maxPreemptions: 0,
    maxInterrupts: 0,
    maxActions: 0,
    fallbacks: 0,
    replayed: 0,
    recorded: 0,
    units: 0,
    unitsSearched: 0,
  };

  /** preemptions and interrupts choosing agent q at node n costs */
  const costOf = (n: Node, q: number): [number, number] => {
    const cur = n.cur;
    if (cur < 0 || (n.enabled & cpuWork[cur]!) === 0) return [0, 0];
    const a = agents[q]!;
    if (a.cpuWork) return a.cpu === cur ? [0, 0] : [1, 0];
    // the scenario's own arrivals (an NMI, the teardown, hotplug) happen
    // once each and every placement is searched; the kernel's (a callback,
    // a kworker, a grace period end) count against --interrupts
    if (a.kind === Kind.Nmi || a.kind === Kind.Destroy || a.kind === Kind.Offline || a.kind === Kind.Fault) return [0, 0];
    return shared ? [1, 0] : [0, 1];
  };
  const within = (n: Node, q: number): boolean => {
    const [p, i] = costOf(n, q);
    return n.pre + p <= o.preemptions && n.irq + i <= maxIrq;
  };
  const allWithin = (n: Node): number => {
    let m = 0;
    for (let q = 0; q < A; q++) if (n.enabled & (1 << q) && within(n, q)) m |= 1 << q;
    return m;
  };

  const nodes: Node[] = [];
  const splitDepth = o.split?.depth ?? 0;
  /** the unit of the current prefix, once the split depth is reached */
  let unit = -1;
  let skipUnit = false;

  const newNode = (enabled: number, parent: Node | undefined, depth: number): Node => {
    const full = !o.dpor || depth < splitDepth;
    const n: Node = {
      enabled,
      backtrack: 0,
      done: 0,
      sleep: 0,
      fpOf: new Array<Fp | undefined>(A),
      chosen: -1,
      cmd: null,
      fp: null,
      vc: new Int32Array(A),
      cur: parent ? parent.curAfter : -1,
      curAfter: -1,
      pre: 0,
      irq: 0,
      full,
    };
    if (parent) {
      const [p, i] = costOf(parent, parent.chosen);
      n.pre = parent.pre + p;
      n.irq = parent.irq + i;
      if (useSleep && !parent.full && !full && parent.fp) {
        // sleep: what slept at the parent or was explored there before,
        // unless the parent's action conflicts with it
        const cand = (parent.sleep | parent.done) & ~(1 << parent.chosen);
        if (cand) marks.set(parent.fp);
        for (let q = 0; q < A; q++) {
          if (!(cand & (1 << q))) continue;
          const f = parent.fpOf[q];
          if (f && !marks.conflicts(f)) {
            n.sleep |= 1 << q;
            n.fpOf[q] = f;
          }
        }
      }
    }
    return n;
  };

  /** Ask for q at node i (a race's reversal). */
  const addBacktrack = (i: number, q: number): void => {
    const n = nodes[i]!;
    if (n.full) return;
    if (within(n, q)) n.backtrack |= 1 << q;
    if (!bounded) return;
    // bounded: also at the last switch before i, where it costs nothing more
    for (let k = i - 1; k >= 0; k--) {
      const m = nodes[k]!;
      if (m.curAfter !== m.cur) {
        if (!m.full && m.enabled & (1 << q) && within(m, q)) m.backtrack |= 1 << q;
        return;
      }
    }
  };

  const marks = new Marks();
  const races = new Races(nodes, A, addBacktrack);

  const cpuAfter = (run: Run, a: Agent, n: Node): number => {
    if (a.kind === Kind.Gp || a.kind === Kind.Offline || a.kind === Kind.Fault) return n.cur;
    if (a.kind === Kind.Destroy) return run.teardownCpu >= 0 ? run.teardownCpu : n.cur;
    return a.cpu;
  };

  /** Fire node j's chosen agent, recording; analyse. */
  const execNode = (run: Run, j: number): void => {
    const n = nodes[j]!;
    const a = agents[n.chosen]!;
    n.cmd = run.commandOf(a);
    run.recording = true;
    res.recorded++;
    try {
      n.fp = run.fire(a, n.cmd);
    } catch (e) {
      n.fp = WRITES_ALL;
      n.curAfter = cpuAfter(run, a, n);
      races.analyse(j);
      throw e;
    }
    n.curAfter = cpuAfter(run, a, n);
    races.analyse(j);
  };

  const found = (v: Violation, run: Run): Found => ({
    invariant: v.invariant as InvariantName,
    message: v.detail,
    commands: run.cmds.slice(),
    execution: res.executions,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
  });

  let stop = false;
  for (;;) {
    if (res.executions >= o.maxExecutions) break;
    let run: Run;
    try {
      run = new Run(policy, cfg, scenario, agents, intern, o);
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      // a violation at boot: the run is the boot
      res.executions++;
      res.violation = { invariant: e.invariant as InvariantName, message: e.detail, commands: [], execution: 1, seconds: 0 };
      stop = true;
      break;
    }
    let judged = false;
    try {
      // replay the prefix quietly, then the branch node's new choice
      races.reset();
      for (let j = 0; j < nodes.length; j++) {
        if (j < nodes.length - 1) {
          const nj = nodes[j]!;
          res.replayed++;
          run.fire(agents[nj.chosen]!, nj.cmd!);
          races.replayed(j, nj.chosen, nj.fp!);
        } else execNode(run, j);
      }
      if (nodes.length === splitDepth && splitDepth > 0 && unit < 0) enterUnit();
      // extend
      for (;;) {
        if (skipUnit) break;
        const en = run.enabled();
        const parent = nodes[nodes.length - 1];
        if (en === 0) {
          if (splitDepth > 0 && unit < 0) enterUnit();
          if (skipUnit) break;
          judged = true;
          res.executions++;
          o.onFinal?.(run);
          run.finish();
          o.onExecution?.(run, null);
          noteTolerated(run);
          break;
        }
        const n = newNode(en, parent, nodes.length);
        const cand = allWithin(n) & ~n.sleep;
        if (cand === 0) {
          res.blocked++;
          break;
        }
        // go on with the running CPU where it can, else the first agent
        let q = -1;
        if (n.cur >= 0) q = lowest(cand & cpuWork[n.cur]!);
        if (q < 0) q = lowest(cand);
        n.chosen = q;
        n.backtrack = n.full ? cand : 1 << q;
        nodes.push(n);
        execNode(run, nodes.length - 1);
        if (nodes.length === splitDepth && splitDepth > 0) enterUnit();
      }
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      if (!judged) res.executions++;
      o.onExecution?.(run, e);
      noteTolerated(run);
      const f = found(e, run);
      if (isKnown(e, f)) {
        if (!res.known.some((k) => k.invariant === e.invariant)) res.known.push(f);
      } else {
        res.violation = f;
        stop = true;
      }
    }
    if (!skipUnit) {
      const last = nodes[nodes.length - 1];
      if (last) {
        res.maxPreemptions = Math.max(res.maxPreemptions, last.pre + costOf(last, last.chosen)[0]);
        res.maxInterrupts = Math.max(res.maxInterrupts, last.irq + costOf(last, last.chosen)[1]);
      }
      res.maxActions = Math.max(res.maxActions, nodes.length);
    }
    if (stop) break;
    // backtrack: the deepest node with something left to explore
    let more = false;
    while (nodes.length) {
      const n = nodes[nodes.length - 1]!;
      if (n.chosen >= 0 && n.fp) {
        n.done |= 1 << n.chosen;
        n.fpOf[n.chosen] = n.fp;
      }
      if (skipUnit && nodes.length > splitDepth) {
        nodes.pop();
        continue;
      }
      const next = lowest(n.backtrack & ~n.done & ~n.sleep);
      if (next >= 0) {
        n.chosen = next;
        n.fp = null;
        more = true;
        break;
      }
      nodes.pop();
    }
    if (nodes.length <= splitDepth) {
      unit = -1;
      skipUnit = false;
    }
    if (!more) {
      res.complete = true;
      break;
    }
  }
  res.fallbacks = races.fallbacks;
  res.seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
  const cu = process.cpuUsage(c0);
  res.cpuSeconds = Number(((cu.user + cu.system) / 1e6).toFixed(3));
  return res;

  /** Known findings among the observations are noted by the run and it
   *  goes on (SimOptions.tolerate): each is a known finding of the
   *  scenario, with the commands up to the one it showed in. */
  function noteTolerated(run: Run): void {
    for (const t of run.sim.tolerated) {
      if (res.known.some((k) => k.invariant === t.v.invariant)) continue;
      res.known.push({
        invariant: t.v.invariant as InvariantName,
        message: t.v.detail,
        commands: run.cmds.slice(0, t.log.length),
        execution: res.executions,
        seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      });
    }
  }

  function enterUnit(): void {
    unit = res.units++;
    skipUnit = !o.split!.mine(unit);
    if (!skipUnit) res.unitsSearched++;
  }
}
