// Bug zoo (NoReuseBeforeGracePeriod): bpf_mem_cache_free_rcu() written as a
// copy of bpf_mem_cache_free(), calling unit_free() where upstream calls
// unit_free_rcu(). The object goes on free_llist and the next
// bpf_mem_cache_alloc() hands it out at once, while RCU readers that found
// it before the free (what bpf_mem_free_rcu() exists for, like kfree_rcu())
// may still read it: that call promises no reuse before a normal grace
// period, whatever the policy promises for plain frees.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import type { MaUp } from '../upstream/cache.ts';
import { thisCpuCacheUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const cacheFreeRcuViaUnitFree = kfunc('bpf_mem_cache_free_rcu', function* (x: Context, ma: MaUp, ptr: Obj): Gen<void> {
  // the bug: unit_free() for unit_free_rcu()
  yield* ma.ops.unit_free(x, thisCpuCacheUp(x, ma.cache!), ptr);
});

const ops = { ...upstreamOps, bpf_mem_cache_free_rcu: cacheFreeRcuViaUnitFree };

export const upstreamCacheFreeRcuCallsUnitFree = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-cache-free-rcu-calls-unit-free',
  summary: 'bpf_mem_cache_free_rcu() calls unit_free() (bpf_mem_cache_free()\'s body) instead of unit_free_rcu()',
  bug: {
    invariants: ['NoReuseBeforeGracePeriod'],
    why: 'an object freed with bpf_mem_cache_free_rcu() goes on free_llist and is handed out again before a normal grace period',
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
