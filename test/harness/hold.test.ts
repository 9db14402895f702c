// Lookups that hold their object (the prog command's `hold`): a sleepable
// reader sleeps in its tasks-trace section, one that may not sleep works
// on; absent, a lookup is the two steps it always was.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CmdSchema, cmdText, drawKind, kindArbitrary, simpler, type Cmd } from '../../harness/commands.ts';
import { genCtx } from '../../harness/sim.ts';
import { CONFIGS } from '../../harness/config.ts';
import { runCommands } from '../../harness/shrink.ts';
import { atomicXchg } from '../../spec/kernel/atomic.ts';
import { kfunc, type Context } from '../../spec/kernel/context.ts';
import { __llistAdd, __llistDelAll, eachSafe } from '../../spec/kernel/llist.ts';
import { callRcu } from '../../spec/kernel/rcupdate.ts';
import type { Gen } from '../../spec/kernel/types.ts';
import type { BpfMemCache } from '../../spec/memalloc/cache.ts';
import { bpfMa, withOps } from '../../spec/policies/bpf-ma.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { definePolicy } from '../../spec/policies/policy.ts';

const fixed = CONFIGS.fixed!;

/** do_call_rcu() that queues call_rcu() where memalloc.c queues
 *  call_rcu_tasks_trace(): sleepable readers are not waited for. */
const doCallRcuWithoutTasksTrace = kfunc('do_call_rcu', function* (x: Context, c: BpfMemCache): Gen<void> {
  if (yield* atomicXchg(x, c.call_rcu_in_progress, 1)) return;
  for (const llnode of eachSafe(x, yield* __llistDelAll(x, c.free_by_rcu))) yield* __llistAdd(x, llnode, c.waiting_for_gp);
  yield* callRcu(x, c.rcu, (y) => c.ops.__free_rcu_tasks_trace(y, c), '__free_rcu_tasks_trace');
});
const skipsTasksTrace = definePolicy({ ...bpfMa, name: 'test/do-call-rcu-skips-tasks-trace', init: withOps({ do_call_rcu: doCallRcuWithoutTasksTrace }) });

const alloc: Cmd = { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 };
const lookup = (hold?: number, sleepable = true): Cmd =>
  hold === undefined ? { t: 'prog', cpu: 0, op: 'lookup', arg: 0, count: 1, sleepable, steps: 0 } : { t: 'prog', cpu: 0, op: 'lookup', arg: 0, count: 1, sleepable, steps: 0, hold };
const free3: Cmd = { t: 'prog', cpu: 0, op: 'free', arg: 1, count: 3, sleepable: false, steps: 0 };

describe('the hold field', () => {
  it('is optional (fixtures written before it parse), 1..8, shown on lookups, and simplifies to absent', () => {
    expect(CmdSchema.safeParse(lookup()).success).toBe(true);
    expect(CmdSchema.safeParse(lookup(3)).success).toBe(true);
    expect(CmdSchema.safeParse(lookup(0)).success).toBe(false);
    expect(CmdSchema.safeParse(lookup(9)).success).toBe(false);
    expect(cmdText(lookup(3))).toBe('prog cpu0 lookup #0 sleepable holding 3, to end');
    expect(cmdText(lookup())).toBe('prog cpu0 lookup #0 sleepable, to end');
    expect(simpler(lookup(3)).some((c) => c.t === 'prog' && c.hold === undefined && c.sleepable)).toBe(true);
  });

  it('is derived, not drawn: generated lookups with count 2 or 3 hold (1..8), nothing else does', () => {
    const g = genCtx(bpfMa, fixed);
    const cmds = fc.sample(kindArbitrary('prog', g), { seed: 1, numRuns: 400 }) as Extract<Cmd, { t: 'prog' }>[];
    for (const c of cmds) expect(c.hold !== undefined).toBe(c.op === 'lookup' && (c.count === 2 || c.count === 3));
    const holds = new Set(cmds.flatMap((c) => (c.hold === undefined ? [] : [c.hold])));
    expect([...holds].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // a seeded draw (PCT) derives it the same way
    let seed = 7;
    const r = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 200; i++) {
      const c = drawKind('prog', g, r, 0) as Extract<Cmd, { t: 'prog' }>;
      expect(c.hold !== undefined).toBe(c.op === 'lookup' && (c.count === 2 || c.count === 3));
    }
  });
});

describe('a sleepable reader that sleeps holding an object', () => {
  it('must fail: a chain that skips the tasks-trace grace period frees the object to slab under it (RcuSafety)', () => {
    const r = runCommands(skipsTasksTrace, fixed, [alloc, alloc, alloc, lookup(2), free3]);
    expect(r.violation?.invariant).toBe('RcuSafety');
    expect(r.violation?.detail).toMatch(/frees obj0 to slab while prog3 on cpu0 still reads it/);
  });

  it('must pass: the same run without the hold (the lookup ends before the free; the chain breaks only the teardown barriers), and memalloc.c itself with it', () => {
    expect(runCommands(skipsTasksTrace, fixed, [alloc, alloc, alloc, lookup(), free3]).violation?.invariant).toBe('TeardownBarriers');
    const r = runCommands(findPolicy('bpf-ma')!, fixed, [alloc, alloc, alloc, lookup(2), free3]);
    expect(r.violation).toBeNull();
    // it went to sleep and the run logged the hold it ran with
    expect(r.effective[3]).toEqual(lookup(2));
  });

  it('must pass: a reader inside rcu_read_lock() does not sleep (non-sleepable, or a sleepable one the policy makes take bpf_rcu_read_lock())', () => {
    expect(runCommands(findPolicy('bpf-ma')!, fixed, [alloc, alloc, lookup(4, false), free3]).violation).toBeNull();
    const fa = findPolicy('free-after-rcu-gp')!;
    expect(fa.sleepableReadersTakeRcu).toBe(true);
    expect(runCommands(fa, fixed, [alloc, alloc, lookup(4), free3, { t: 'quiesce' }]).violation).toBeNull();
  });

  it('must pass: a lookup whose program started before the free but had not run yet finds nothing (bpf_map_lookup_elem() of a deleted element)', () => {
    // cpu1's pending irq_work runs before prog1's first step; prog2 frees
    // obj1 meanwhile and its grace periods start before prog1's section
    const cmds: Cmd[] = [
      { t: 'nmi', cpu: 1, op: 'alloc', arg: 0 },
      { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 2, sleepable: false, steps: 0 },
      { t: 'prog', cpu: 1, op: 'lookup', arg: 0, count: 1, sleepable: true, steps: 1, hold: 1 },
      { t: 'prog', cpu: 0, op: 'free', arg: 1, count: 3, sleepable: false, steps: 0 },
    ];
    expect(runCommands(findPolicy('bpf-ma')!, CONFIGS.percpu!, cmds).violation).toBeNull();
  });
});
