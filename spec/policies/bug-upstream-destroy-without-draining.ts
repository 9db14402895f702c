// Bug zoo: bpf_mem_alloc_destroy() without WRITE_ONCE(c->draining, true),
// as teardown was before objects went back to the cache that allocated them.
// Draining cpu0's cache is no longer final: cpu1's irq_work, synced only
// after, may still run free_bulk() with c->tgt = cpu0's cache, and its
// do_call_rcu_ttrace() leaves the objects on free_by_rcu_ttrace (a callback
// is in flight) or queues a callback the count already missed.
import { atomicRead } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import { irqWorkSync } from '../kernel/irq_work.ts';
import type { Gen } from '../kernel/types.ts';
import type { PercpuCaches } from '../memalloc/cache.ts';
import { cachesOf, type MaUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

function* syncDrainAndCount(x: Context, pc: PercpuCaches): Gen<number> {
  let rcuInProgress = 0;
  for (const c of cachesOf(pc)) {
    // the bug: no WRITE_ONCE(c->draining, true)
    yield* irqWorkSync(x, c.refill_work);
    yield* c.ops.drain_mem_cache(x, c);
    rcuInProgress += yield* atomicRead(x, c.call_rcu_ttrace_in_progress);
    rcuInProgress += yield* atomicRead(x, c.call_rcu_in_progress);
  }
  return rcuInProgress;
}

const destroyWithoutDraining = kfunc('bpf_mem_alloc_destroy', function* (x: Context, ma: MaUp): Gen<void> {
  if (ma.cache) yield* ma.ops.destroy_mem_alloc(x, ma, yield* syncDrainAndCount(x, ma.cache));
  if (ma.caches) yield* ma.ops.destroy_mem_alloc(x, ma, yield* syncDrainAndCount(x, ma.caches));
});

const ops = { ...upstreamOps, bpf_mem_alloc_destroy: destroyWithoutDraining };

export const upstreamDestroyWithoutDraining = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-destroy-without-draining',
  summary: 'bpf_mem_alloc_destroy() never sets c->draining: another CPU refills a drained cache through c->tgt',
  bug: {
    invariants: ['NoKernelWarn', 'NoLeakAtTeardown', 'TeardownBarriers'],
    why: "after cpu0's cache is drained, cpu1's pending irq_work sends objects to it (tgt); without draining they stay on its _ttrace lists and check_mem_cache() warns",
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
