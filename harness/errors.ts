// Errors the CLI turns into one line and exit code 2.

/** Bad usage or bad input (flag, fixture, policy name). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A policy module failed to load, or one of its hooks threw or returned
 *  something the Policy API does not allow. */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly policy: string,
    readonly hook: string,
    readonly where: string,
    override readonly cause: unknown,
  ) {
    super(`policy ${policy}: hook ${hook} ${where}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Levenshtein distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known word nearest to `word`, when it is near enough to be a typo
 *  (at most a third of its length, at least 2 edits away allowed), or one
 *  that contains it / that it contains (`unit-free` for
 *  `bug/unit-free-ignores-active`). */
export function nearest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(w, k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  const sub = known.filter((k) => w.length >= 3 && (k.toLowerCase().includes(w) || w.includes(k.toLowerCase())));
  return sub.length === 1 ? sub[0] : undefined;
}

/** " (did you mean 'x'?)" for a near known word, else "". */
export function didYouMean(word: string, known: readonly string[], show: (k: string) => string = (k) => `'${k}'`): string {
  const n = nearest(word, known);
  return n === undefined ? '' : ` (did you mean ${show(n)}?)`;
}
