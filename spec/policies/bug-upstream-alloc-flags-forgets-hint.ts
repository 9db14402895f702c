// Bug zoo: bpf_mem_cache_alloc_flags()'s GFP_KERNEL fallback without
// `*(struct bpf_mem_cache **)ret = c`: the object reaches the program with
// whatever kmalloc left in its first word, and bpf_mem_cache_free() then
// reads a garbage cache pointer from it (unit_free(): c->tgt = that word).
// In the kernel an oops; the run reports it as one (NoKernelWarn), with
// its trace, where it used to stop as an error of the policy.
import { kfunc, type Context } from '../kernel/context.ts';
import type { Obj } from '../kernel/obj.ts';
import type { Gen } from '../kernel/types.ts';
import { thisCpuCacheUp, type Gfp, type MaUp } from '../upstream/cache.ts';
import { upstreamOps } from '../upstream/ops.ts';
import { bpfMaUpstream, upstreamInit } from './bpf-ma-upstream.ts';
import { definePolicy } from './policy.ts';

const allocFlagsWithoutHint = kfunc('bpf_mem_cache_alloc_flags', function* (x: Context, ma: MaUp, flags: Gfp): Gen<Obj | null> {
  const c = thisCpuCacheUp(x, ma.cache!);
  let ret = yield* ma.ops.unit_alloc(x, c);
  // the bug: the fallback's object carries no cache pointer
  if (!ret && flags === 'GFP_KERNEL') ret = yield* ma.ops.__alloc(x, c, 'GFP_KERNEL');
  return ret;
});

const ops = { ...upstreamOps, bpf_mem_cache_alloc_flags: allocFlagsWithoutHint };

export const upstreamAllocFlagsForgetsHint = definePolicy({
  ...bpfMaUpstream,
  name: 'bug/upstream-alloc-flags-forgets-hint',
  summary: "bpf_mem_cache_alloc_flags()'s GFP_KERNEL fallback stores no cache pointer in the object: its free follows garbage",
  findings: undefined,
  bug: {
    invariants: ['NoKernelWarn'],
    why: 'a sleepable program gets a kmalloc()ed object with no cache hint; unit_free() reads the cache pointer from its header: an oops',
  },
  init: (k, opts) => upstreamInit(k, opts, ops),
});
