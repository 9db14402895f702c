// What keeps a step cheap must not change what a step is (spec/kernel/
// README.md, "Steps on the hot path"): a one-step primitive is one step
// with its effect at the call; a quiet kernel's primitives yield '' and a
// traced one the full label; a run reads the same traced or not.
import { describe, expect, it } from 'vitest';
import { Cell, localIncReturn, plainAdd } from '../../../spec/kernel/atomic.ts';
import { LlistHead, llistAdd } from '../../../spec/kernel/llist.ts';
import { Obj } from '../../../spec/kernel/obj.ts';
import { start, runCpu } from '../../../spec/kernel/sched.ts';
import type { Gen, Owner } from '../../../spec/kernel/types.ts';
import type { Context } from '../../../spec/kernel/context.ts';
import { CORRECT_POLICIES } from '../../../spec/policies/index.ts';
import { CONFIGS } from '../../../harness/config.ts';
import { runCommands } from '../../../harness/shrink.ts';
import { TraceRecorder } from '../../../harness/trace.ts';
import { pctCommands } from '../../../harness/pct.ts';
import { genCtx } from '../../../harness/sim.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

const owner: Owner = { name: 'c', freed: false };

describe('one-step primitives', () => {
  it('take one step, with their effect at the call, and give their result after it', () => {
    const k = kernel();
    const x = ctx(k);
    const c = new Cell(owner, 'active');
    const g = localIncReturn(x, c);
    expect(c.v).toBe(1);
    const r = g.next();
    expect(r).toMatchObject({ done: false, value: 'local_inc_return(&active) = 1' });
    expect(g.next()).toMatchObject({ done: true, value: 1 });
  });

  it('are one step each under the scheduler, as the generators they replace were', () => {
    const k = kernel();
    const h = new LlistHead(owner, 'free_llist');
    const c = new Cell(owner, 'free_cnt');
    const o = new Obj(0, 8);
    const labels: string[] = [];
    k.tracer = { step: (_x, what) => void labels.push(what), note: () => {} };
    const body = function* (x: Context): Gen<void> {
      yield* llistAdd(x, o, h);
      yield* plainAdd(x, c, +1);
    };
    const x = start(k, 0, 'task', 'prog0', body);
    expect(runCpu(k, 0, 1)).toBe(1);
    expect(h.first).toBe(o);
    expect(c.v).toBe(0);
    runCpu(k, 0, 0, x);
    expect(labels).toEqual(['llist_add(obj0)', 'load free_cnt (0)', 'store free_cnt = 1', 'returns']);
    expect(c.v).toBe(1);
  });
});

describe('labels', () => {
  it('a quiet kernel builds none; a tracer or kept history brings them back', () => {
    const k = kernel();
    const c = new Cell(owner, 'active');
    k.quiet = true;
    expect(drive(localIncReturn(ctx(k), c)).steps).toEqual(['']);
    k.keepHistory = true;
    expect(drive(localIncReturn(ctx(k), c)).steps).toEqual(['local_inc_return(&active) = 2']);
    k.keepHistory = false;
    k.tracer = { step: () => {}, note: () => {} };
    expect(drive(localIncReturn(ctx(k), c)).steps).toEqual(['local_inc_return(&active) = 3']);
  });

  it('a run takes the same steps and ends the same with a trace recorder or without', () => {
    const bpfMa = CORRECT_POLICIES.find((p) => p.name === 'bpf-ma')!;
    const cfg = CONFIGS.fixed!;
    for (let run = 0; run < 5; run++) {
      const cmds = pctCommands(genCtx(bpfMa, cfg), 1, run, 3);
      const quiet = runCommands(bpfMa, cfg, cmds);
      const rec = new TraceRecorder();
      const traced = runCommands(bpfMa, cfg, cmds, { recorder: rec });
      expect(traced.sim.k.steps).toBe(quiet.sim.k.steps);
      expect(traced.effective).toEqual(quiet.effective);
      expect(traced.violation?.message).toBe(quiet.violation?.message);
      const steps = rec.events.filter((e) => e.kind === 'step');
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.every((e) => e.kind === 'step' && e.what !== '')).toBe(true);
    }
  });
});

// kfunc() passes arguments without a rest array on the hot path (up to
// seven after the context); a call with more, or a body whose defaults
// hide its real arity from Function.length, must still get every one.
describe('kfunc() arguments', () => {
  it('passes every argument, past seven and past a default value', async () => {
    const { kfunc } = await import('../../../spec/kernel/context.ts');
    const k = kernel();
    const x = ctx(k);
    const got: unknown[][] = [];
    // Function.length is 2 here (the default stops the count); a rest
    // parameter takes the general path
    const f = kfunc('f', function* (_x: Context, a: number, b: number = 0, ...more: number[]): Gen<number> {
      got.push([a, b, ...more]);
      yield '';
      return a + b + more.reduce((s, v) => s + v, 0);
    });
    const run = (g: Gen<number>): number => {
      let r = g.next();
      while (!r.done) r = g.next();
      return r.value;
    };
    expect(run(f(x, 1, 2, 3, 4, 5, 6, 7))).toBe(28);
    expect(run(f(x, 1, 2, 3, 4, 5, 6, 7, 8, 9))).toBe(45);
    expect(run(f(x, 1))).toBe(1);
    expect(got).toEqual([[1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 0]]);
    // the fast path: a body without a rest parameter sees absent as undefined
    const g = kfunc('g', function* (_x: Context, a: number, b: number = 10): Gen<number> {
      yield '';
      return a + b;
    });
    expect(run(g(x, 1))).toBe(11);
  });
});
