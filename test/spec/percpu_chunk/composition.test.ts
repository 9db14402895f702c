// bpf-ma-on-percpu-chunk: seed 004's percpu objects on seed 003's
// allocator. What the harness says, with the functions responsible.
import { describe, expect, it } from 'vitest';
import { explore, runCommands } from '../../../harness/explore.ts';
import { CONFIGS } from '../../../harness/config.ts';
import { bpfMaOnPercpuChunk } from '../../../spec/policies/bpf-ma-on-percpu-chunk.ts';
import { bpfMa } from '../../../spec/policies/bpf-ma.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';
import { allocOptions } from '../../../harness/config.ts';

/** The kernel function stacks on the CPUs when the run broke. */
function stacks(cfg: typeof CONFIGS.percpu, seed: number, invariant = 'NoSleepInAtomic'): { invariant: string; detail: string; fns: string[]; finding?: string } {
  // a known finding of the composition: recorded, shrunk, and the budget goes on
  const r = explore(bpfMaOnPercpuChunk, cfg!, { seed, runs: 300 });
  expect(r.counterexample).toBeNull();
  const found = r.known.find((k) => k.invariant === invariant);
  expect(found, `${invariant} among ${r.known.map((k) => k.invariant)}`).toBeDefined();
  const again = runCommands(bpfMaOnPercpuChunk, cfg!, found!.commands);
  const v = again.violation!;
  return { invariant: v.invariant, detail: v.detail, finding: found!.finding, fns: [...again.sim.k.contexts()].map((x) => `${x.label.replace(/\d+$/, '')}: ${x.fns.join(' > ')}`) };
}

describe('bpf-ma-on-percpu-chunk', () => {
  it('boots: prefill takes pcpu_mutex from a task context and gets real areas', () => {
    const k = kernel();
    const ma = bpfMaOnPercpuChunk.init(k, allocOptions(CONFIGS.percpu!));
    const obj = ma.cache!.caches[0]!.free_llist.first!;
    const pptr = k.slab.pptrOf.get(obj) as number;
    expect(typeof pptr).toBe('number');
    expect(k.slab.percpuBytes).toBe(8192 * 2 * 2); // one prefilled object per CPU, 8192 bytes on each of 2 CPUs
    // free_one() hands the pointer back to free_percpu()
    drive(k.slab.freePercpu(ctx(k), 8192, pptr));
    expect(k.slab.percpuBytes).toBe(8192 * 2);
  });

  it('percpu configuration: irq_work refill calls __alloc_percpu(), which sleeps on pcpu_mutex in hardirq (NoSleepInAtomic)', () => {
    const s = stacks(CONFIGS.percpu, 1);
    expect(s.invariant).toBe('NoSleepInAtomic');
    expect(s.detail).toMatch(/^mutex_lock\(&pcpu_mutex\) in hardirq context, in __alloc_percpu/);
    // the self-IPI fires at once, on top of whatever raised it
    expect(s.fns.at(-1)).toBe('irq_work: bpf_mem_refill > alloc_bulk > __alloc > __alloc_percpu');
    expect(s.finding).toBe('pcpu-mutex-in-refill-irq-work');
  });

  it('PREEMPT_RT (irq_work in a kthread): the RCU callback frees through free_percpu(), which sleeps in softirq', () => {
    const s = stacks({ ...CONFIGS.rt!, name: 'rt-percpu', percpu: true, size: 8192 }, 4);
    expect(s.invariant).toBe('NoSleepInAtomic');
    expect(s.detail).toMatch(/^mutex_lock\(&pcpu_mutex\) in softirq context, in free_percpu/);
    expect(s.fns).toEqual(['softirq: __free_rcu_tasks_trace > free_one > free_percpu']);
    expect(s.finding).toBe('pcpu-mutex-in-rcu-callback');
  });

  it('PREEMPT_RT: a page fault in the kthread refill frees the page under a prefilled object (seed 003 finding)', () => {
    const s = stacks({ ...CONFIGS.rt!, name: 'rt-percpu', percpu: true, size: 8192 }, 1, 'PcpuLiveAreaPopulated');
    expect(s.invariant).toBe('PcpuLiveAreaPopulated');
    expect(s.finding).toBe('populate-error-frees-prefilled-pptr');
  });

  it('declares what it finds as known findings', () => {
    expect(bpfMaOnPercpuChunk.findings!.known.map((f) => `${f.invariant}: ${f.name}`)).toEqual([
      'NoSleepInAtomic: pcpu-mutex-in-refill-irq-work',
      'NoSleepInAtomic: pcpu-mutex-in-rcu-callback',
      'PcpuLiveAreaPopulated: populate-error-frees-prefilled-pptr',
      'NoAllocFailureWhileRefillStalled: refill-claimed-then-preempted',
    ]);
  });

  it('without percpu objects it is bpf-ma: the fixed configuration holds', () => {
    const r = explore(bpfMaOnPercpuChunk, CONFIGS.fixed!, { seed: 1, runs: 100 });
    expect(r.counterexample).toBeNull();
    expect(bpfMaOnPercpuChunk.alloc).toBe(bpfMa.alloc);
  });
});
