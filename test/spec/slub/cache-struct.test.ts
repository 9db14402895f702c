// kmem_cache_create() takes s from the kmem_cache cache and
// kmem_cache_destroy() gives it back (kmem_cache_release()): a destroy that
// keeps s is NoLeakAtTeardown, like any structure that outlives teardown.
import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../../harness/config.ts';
import { Sim } from '../../../harness/sim.ts';
import { kfunc, type Context } from '../../../spec/kernel/context.ts';
import { type Gen, Violation } from '../../../spec/kernel/types.ts';
import { definePolicy } from '../../../spec/policies/policy.ts';
import { slubPca } from '../../../spec/policies/slub-pca.ts';
import { flushCpuArray } from '../../../spec/slub/free.ts';
import { freeCpuArray, type KmemCache } from '../../../spec/slub/pca.ts';
import { mapDestroy } from '../../../spec/slub/user.ts';

// kmem_cache_destroy() with every step but the last: s is never freed
const destroyKeepingCache = kfunc('kmem_cache_destroy', function* (x: Context, s: KmemCache): Gen<void> {
  if (s.cpu_array) for (let cpu = 0; cpu < x.k.cfg.cpus; cpu++) yield* flushCpuArray(x, s, cpu);
  yield* freeCpuArray(x, s);
});
const keepsCache = definePolicy({ ...slubPca, name: 'test/destroy-keeps-kmem-cache', destroy: (x, st) => mapDestroy(x, st.s, destroyKeepingCache, st.nmi) });

/** Boot, then teardown at once: the violation, or null. */
function teardown(policy: typeof slubPca): Violation | null {
  const sim = new Sim(policy, CONFIGS.fixed!);
  try {
    sim.finish();
    return null;
  } catch (e) {
    if (e instanceof Violation) return e;
    throw e;
  }
}

describe('the kmem_cache struct at teardown', () => {
  it('a destroy that never frees s leaks it (NoLeakAtTeardown)', () => {
    const v = teardown(keepsCache);
    expect(v?.invariant).toBe('NoLeakAtTeardown');
    expect(v?.detail).toMatch(/never freed: s\b/);
  });
  it('kmem_cache_destroy() frees it: slub-pca ends clean', () => {
    expect(teardown(slubPca)).toBeNull();
  });
});
