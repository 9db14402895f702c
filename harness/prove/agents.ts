// The agents of a scenario: what the prove search chooses between at each
// point (harness/prove/run.ts says what each one fires). Fixed ids, at
// most 31 per scenario: the search keeps its sets as bit masks.
import type { Scenario } from '../../spec/policies/scenario.ts';
import type { CheckConfig } from '../config.ts';

export const enum Kind {
  Step,
  Prog,
  Nmi,
  Softirq,
  Kworker,
  Irq,
  Gp,
  Destroy,
  Offline,
  Fault,
}

export interface Agent {
  readonly id: number;
  readonly kind: Kind;
  /** the CPU it acts on (-1: none, a grace period or hotplug) */
  readonly cpu: number;
  /** Nmi: the scenario's NMI index; Gp: 0 rcu, 1 rcu_tasks_trace */
  readonly idx: number;
  /** its own work continues a CPU (step, prog); else an arrival */
  readonly cpuWork: boolean;
  readonly name: string;
}

/** The agents of a scenario under a configuration. */
export function agentsOf(s: Scenario, cfg: CheckConfig): Agent[] {
  const out: Agent[] = [];
  const add = (kind: Kind, cpu: number, idx: number, name: string): void => {
    out.push({ id: out.length, kind, cpu, idx, cpuWork: kind === Kind.Step || kind === Kind.Prog, name });
  };
  for (let c = 0; c < cfg.cpus; c++) {
    add(Kind.Step, c, 0, `step cpu${c}`);
    if (c < s.cpus.length && s.cpus[c]!.length) add(Kind.Prog, c, 0, `prog cpu${c}`);
    add(Kind.Softirq, c, 0, `softirq cpu${c}`);
    add(Kind.Kworker, c, 0, `kworker cpu${c}`);
    if (cfg.preemptRt) add(Kind.Irq, c, 0, `irq cpu${c}`);
  }
  (s.nmi ?? []).forEach((n, i) => add(Kind.Nmi, n.cpu, i, `nmi${i} cpu${n.cpu}`));
  add(Kind.Gp, -1, 0, 'gp rcu');
  add(Kind.Gp, -1, 1, 'gp rcu_tasks_trace');
  if (s.teardown) add(Kind.Destroy, -1, 0, 'destroy');
  if (s.offline) add(Kind.Offline, -1, 0, 'offline');
  (s.inject ?? []).forEach((f, i) => add(Kind.Fault, -1, i, `fault ${f}`));
  if (out.length > 31) throw new Error(`scenario ${s.name}: ${out.length} agents (at most 31)`);
  return out;
}
