// The explanation as data: one JSON document (an array when several
// fixtures are replayed), keys in a fixed order, no time or paths outside
// the repository.
import type { Explanation } from './story.ts';

export function renderJson(xs: readonly Explanation[]): string {
  return JSON.stringify(xs.length === 1 ? xs[0] : xs, null, 2) + '\n';
}
