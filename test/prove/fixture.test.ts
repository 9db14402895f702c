// A step-level schedule in the fixture format: an `nmi` command may carry a
// step budget (prove places an NMI at one step and steps it like any
// context). Backward compatible: without it an NMI runs to its end, as
// every fixture saved before reads.
import { describe, expect, it } from 'vitest';
import { CmdSchema, cmdText, type Cmd } from '../../harness/commands.ts';
import { CONFIGS } from '../../harness/config.ts';
import { runCommands } from '../../harness/explore.ts';
import { bpfMa } from '../../spec/policies/bpf-ma.ts';
import type { Policy } from '../../spec/policies/policy.ts';

const cfg = CONFIGS.fixed!;
const alloc = (cpu: number): Cmd => ({ t: 'prog', cpu, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });

describe('nmi steps', () => {
  it('the schema takes a budget of 1 or more, or none', () => {
    expect(CmdSchema.safeParse({ t: 'nmi', cpu: 0, op: 'free', arg: 0 }).success).toBe(true);
    expect(CmdSchema.safeParse({ t: 'nmi', cpu: 0, op: 'free', arg: 0, steps: 2 }).success).toBe(true);
    expect(CmdSchema.safeParse({ t: 'nmi', cpu: 0, op: 'free', arg: 0, steps: 0 }).success).toBe(false);
    expect(cmdText({ t: 'nmi', cpu: 0, op: 'free', arg: 0 })).toBe('nmi cpu0 free #0');
    expect(cmdText({ t: 'nmi', cpu: 0, op: 'free', arg: 0, steps: 1 })).toBe('nmi cpu0 free #0, 1 step');
  });

  it('an NMI stepped one step at a time ends where one run to its end does; between its steps another CPU runs', () => {
    const p = bpfMa as Policy<unknown>;
    const whole = runCommands(p, cfg, [alloc(0), alloc(0), { t: 'nmi', cpu: 0, op: 'free', arg: 0 }]);
    const stepped: Cmd[] = [alloc(0), alloc(0), { t: 'nmi', cpu: 0, op: 'free', arg: 0, steps: 1 }];
    for (let i = 0; i < 30; i++) stepped.push({ t: 'step', cpu: 0, steps: 1 }, { t: 'prog', cpu: 1, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 1 });
    const r = runCommands(p, cfg, stepped);
    expect(whole.violation).toBeNull();
    expect(r.violation).toBeNull();
    // the NMI did not run to its end at once: cpu1 started programs while it ran
    const log = r.effective.map((c) => c.t);
    expect(log[2]).toBe('nmi');
    expect(r.effective[2]).toMatchObject({ steps: 1 });
    expect(log.slice(3, 6)).toContain('prog');
    expect(r.sim.k.cpus[0]!.stack).toHaveLength(0);
  });
});
