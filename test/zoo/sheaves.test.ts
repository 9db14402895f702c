// The sheaves and kmalloc_nolock() variants of the zoo (docs/sheaves.md),
// with zoo.test.ts's cases, in a file of their own so they run beside it.
import { expect, it } from 'vitest';
import { ZOO } from '../../spec/policies/index.ts';
import { OWN_FILE, zooCases } from './zoo-cases.ts';

const mine = ZOO.filter((p) => OWN_FILE.test(p.name));
it('takes the five sheaves and nolock variants', () => {
  expect(mine.map((p) => p.name).sort()).toEqual(['bug/nolock-kfree-allows-spin', 'bug/sheaves-bulk-free-leaks-remote', 'bug/sheaves-null-barn', 'bug/sheaves-pfmemalloc-cached', 'bug/sheaves-slab-count']);
});
zooCases(mine);
