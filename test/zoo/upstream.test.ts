// Today's memalloc.c (bpf-ma-upstream) holds, also with every free going
// through bpf_mem_free_rcu() and with GFP_KERNEL allocations.
import { describe, expect, it } from 'vitest';
import { CONFIGS, type CheckConfig } from '../../harness/config.ts';
import { explore, runCommands } from '../../harness/explore.ts';
import { renderText, TraceRecorder } from '../../harness/trace.ts';
import { bpfMaUpstream } from '../../spec/policies/bpf-ma-upstream.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { definePolicy } from '../../spec/policies/policy.ts';
import { llistAdd } from '../../spec/kernel/llist_cmpxchg.ts';
import { invokeCallback } from '../../spec/kernel/rcupdate.ts';
import { cachesOf, type BpfMemAllocUp } from '../../spec/upstream/cache.ts';
import { ctx, drive, kernel } from '../helpers/boot.ts';
import { names, owned, refill } from '../spec/upstream/helpers.ts';
import { DEEP, soakSeeds } from '../helpers/tier.ts';

// the gate: 1,000 runs a configuration; npm run test:deep: 2,000 on seeds 1..3
const RUNS = DEEP ? 2000 : 1000;

// the variants themselves are found by test/zoo/zoo.test.ts, driven by the zoo list

describe('bpf-ma-upstream holds', () => {
  const seeds = soakSeeds(1, 3);
  it.each(['fixed', 'percpu', 'buckets', 'rt'])(`in config %s, seeds 1..${seeds.length}${DEEP ? '' : ' (npm run test:deep: 1..3)'}, ${RUNS} runs`, (cfgName) => {
    for (const seed of seeds) {
      const r = explore(bpfMaUpstream, CONFIGS[cfgName]!, { seed, runs: RUNS });
      expect(r.counterexample, `seed ${seed}: ${r.counterexample?.message}`).toBeNull();
    }
  });

  // Until the harness generates free_rcu operations and sets x.sleepable:
  // odd objects go back through bpf_mem_free_rcu()/bpf_mem_cache_free_rcu(),
  // and a program holding only rcu_read_lock_trace() (a sleepable one)
  // allocates with bpf_mem_cache_alloc_flags(GFP_KERNEL).
  const withFreeRcu = definePolicy({
    ...bpfMaUpstream,
    name: 'test/upstream-with-free-rcu',
    alloc: (x, ma, size) => {
      x.sleepable = x.traceDepth > 0 && x.rcuDepth === 0;
      return bpfMaUpstream.alloc(x, ma, size);
    },
    free: (x, ma, obj) => (obj.id % 2 ? bpfMaUpstream.freeRcu!(x, ma, obj) : bpfMaUpstream.free(x, ma, obj)),
  });
  const percpuBuckets: CheckConfig = { ...CONFIGS.buckets!, name: 'percpu-buckets', percpu: true };

  const rcuSeeds = soakSeeds(1, 2);
  it.each(['fixed', 'percpu', 'buckets', 'rt'])(`with free_rcu frees and GFP_KERNEL allocations in config %s, seeds 1..${rcuSeeds.length}, 500 runs`, (cfgName) => {
    for (const seed of rcuSeeds) {
      const r = explore(withFreeRcu, CONFIGS[cfgName]!, { seed, runs: 500 });
      expect(r.counterexample, `seed ${seed}: ${r.counterexample?.message}`).toBeNull();
      if (cfgName === 'fixed') {
        for (const s of ['__free_by_rcu-into-other-cpu-tgt', 'check_free_by_rcu-drains-free_llist_extra_rcu', 'alloc_flags-gfp-kernel-fallback']) {
          expect(r.situations.get(s) ?? 0, s).toBeGreaterThan(0);
        }
      }
    }
  });

  it('with per-CPU objects of any size (bpf_mem_alloc_percpu_init + unit_init), seed 1, 500 runs', () => {
    for (const p of [bpfMaUpstream, withFreeRcu]) expect(explore(p, percpuBuckets, { seed: 1, runs: 500 }).counterexample).toBeNull();
  });
});

describe('bug/upstream-extra-rcu-keeps-stale-tail, the stale (not NULL) tail', () => {
  it("splices a new batch with an earlier batch's object as tail: that object's next is rewritten", () => {
    const policy = findPolicy('bug/upstream-extra-rcu-keeps-stale-tail')!;
    const k = kernel();
    const ma = policy.init(k, { size: 8184, percpu: false }) as BpfMemAllocUp;
    const [c0] = cachesOf(ma.cache!);
    const c = c0!;
    const x = ctx(k, 0);
    const [o1, o2, o3, o4] = [owned(k, c), owned(k, c), owned(k, c), owned(k, c)];
    const freeByRcu = (): void => {
      k.rcu.endGp('rcu');
      drive(invokeCallback(ctx(k, 0, 'softirq'), k.rcu.takeReady(0)!));
    };
    // batch 1: o1 waits a normal GP, then goes to free_by_rcu_ttrace and on to
    // waiting_for_gp_ttrace behind a tasks-trace callback (left in flight)
    drive(c.ops.unit_free_rcu(x, c, o1));
    refill(k, c);
    expect(c.waiting_for_gp_tail).toBe(o1);
    freeByRcu();
    expect(c.waiting_for_gp_ttrace.first).toBe(o1);
    // alloc_bulk() takes o1 back; o2 is freed on top of it
    drive(c.ops.unit_alloc(x, c));
    refill(k, c);
    drive(c.ops.unit_free(x, c, o2));
    expect(names(c.free_llist)).toEqual([o2.name, o1.name]);
    // another CPU's free_bulk() left o3 on free_by_rcu_ttrace (callback in flight)
    drive(llistAdd(ctx(k, 1, 'hardirq'), o3, c.free_by_rcu_ttrace));
    // batch 2: an NMI bpf_mem_free_rcu()s o4 while active is taken
    c.active.v = 1;
    drive(c.ops.unit_free_rcu(ctx(k, 0, 'nmi'), c, o4));
    c.active.v = 0;
    refill(k, c);
    expect(c.waiting_for_gp_tail).toBe(o1); // stale: o1 is on free_llist
    freeByRcu();
    // llist_add_batch(o4, o1, ...): o1->next = o3, and o3 left free_by_rcu_ttrace
    expect(names(c.free_by_rcu_ttrace)).toEqual([o4.name]);
    expect(names(c.free_llist)).toEqual([o2.name, o1.name, o3.name]);
    expect(c.free_cnt.v).toBe(2); // FreeCntMatchesList breaks
  });
});
