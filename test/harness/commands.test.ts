// The command table (harness/commands.ts): each command maps to the one
// action allowed() judges; simplification moves a field towards its
// simplest value; the schema is the fixture format's.
import { describe, expect, it } from 'vitest';
import { CMD_KINDS, CmdSchema, COMMANDS, alphabetOf, cmdText, genCtx, simpler, toAction, type Cmd } from '../../harness/commands.ts';
import { CONFIGS } from '../../harness/config.ts';
import { Sim } from '../../harness/sim.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { allowed } from '../../spec/kernel/sched.ts';

const fixed = CONFIGS.fixed!;

describe('the command table', () => {
  it('every kind says how to generate, show, map to an action and run', () => {
    for (const t of CMD_KINDS) {
      const k = COMMANDS[t] as unknown as Record<string, unknown>;
      for (const f of ['weight', 'generated', 'fields', 'text', 'toAction', 'run', 'alphabet']) expect(k[f], `${t}.${f}`).toBeDefined();
    }
  });

  it('a step command with an interrupt pending on its CPU asks for that interrupt (R8)', () => {
    const sim = new Sim(findPolicy('bpf-ma')!, fixed);
    // an allocation that drains the cache raises the refill: on return
    // with IRQs on, the irq_work is pending on cpu0 until taken
    sim.exec({ t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 3 });
    const a = toAction(sim, { t: 'step', cpu: 0, steps: 1 }, 0)!;
    expect(['step', 'irq']).toContain(a.kind);
    expect(allowed(sim.k, a)).toBe(true);
    // an irq command where nothing is queued names nothing
    expect(toAction(sim, { t: 'irq', cpu: 1, steps: 0 }, 1)).toBeNull();
  });

  it('simplification moves one field at a time towards its simplest value', () => {
    const c: Cmd = { t: 'prog', cpu: 1, op: 'free', arg: 3, count: 2, sleepable: true, steps: 5 };
    const s = simpler(c);
    expect(s).toContainEqual({ ...c, cpu: 0 });
    expect(s).toContainEqual({ ...c, op: 'alloc' });
    expect(s).toContainEqual({ ...c, steps: 0 });
    expect(simpler({ t: 'quiesce' })).toEqual([]);
  });

  it('the fixture schema accepts what the table generates and refuses an unknown field', () => {
    const g = genCtx(findPolicy('bpf-ma')!, fixed);
    for (const c of alphabetOf(g)) expect(CmdSchema.safeParse(c).success, cmdText(c)).toBe(true);
    expect(CmdSchema.safeParse({ t: 'gp', flavour: 'rcu', extra: 1 }).success).toBe(false);
  });
});
