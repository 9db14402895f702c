// kmem_cache_create() takes s from the kmem_cache cache and
// kmem_cache_destroy() gives it back (kmem_cache_release()): a destroy that
// keeps s (the zoo's bug/pca-destroy-keeps-cache) is NoLeakAtTeardown, like
// any structure that outlives teardown.
import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../../harness/config.ts';
import { Sim } from '../../../harness/sim.ts';
import { Violation } from '../../../spec/kernel/types.ts';
import { pcaDestroyKeepsCache } from '../../../spec/policies/bug-pca-destroy-keeps-cache.ts';
import { slubPca } from '../../../spec/policies/slub-pca.ts';

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
    const v = teardown(pcaDestroyKeepsCache);
    expect(v?.invariant).toBe('NoLeakAtTeardown');
    expect(v?.detail).toMatch(/never freed: s\b/);
  });
  it('kmem_cache_destroy() frees it: slub-pca ends clean', () => {
    expect(teardown(slubPca)).toBeNull();
  });
});
