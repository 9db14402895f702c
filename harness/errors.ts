// Errors the CLI turns into one line and exit code 2, and the helpers that
// make those lines (did-you-mean, flag parsing).
import { parseArgs } from 'node:util';
import { report } from '../spec/kernel/events.ts';
import { current } from '../spec/kernel/sched.ts';
import { Violation } from '../spec/kernel/types.ts';

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

/** What a throw inside a run becomes (Sim's guard): a violation as it
 *  is; the spec dereferencing NULL, an oops (in the kernel it would be);
 *  anything else the policy's error, one line naming the policy, the
 *  kernel function and the step. */
export function stepError(e: unknown, policy: string, k: { readonly steps: number }): never {
  if (e instanceof Violation || e instanceof PolicyError) throw e;
  const x = current.x;
  current.x = null;
  if (e instanceof TypeError && x && /(read|set) properties of (null|undefined)/.test(e.message)) {
    report('oops', `BUG: NULL pointer dereference in ${x.fn} on cpu${x.cpu} (${x.label}): ${e.message}`);
  }
  const where = x ? `threw at step ${k.steps} (${x.label} on cpu${x.cpu} in ${x.fn})` : `threw at step ${k.steps}`;
  throw new PolicyError(policy, x ? (x.fns[0] ?? x.label) : 'run', where, e);
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

/** "did you mean 'x'? " for a near known word, else "": the start of a
 *  parenthesis that goes on with the known words. */
export function meanPrefix(word: string, known: readonly string[]): string {
  const n = nearest(word, known);
  return n === undefined ? '' : `did you mean '${n}'? `;
}

/** " (did you mean 'x'?)" for a near known word, else "". */
export function didYouMean(word: string, known: readonly string[], show: (k: string) => string = (k) => `'${k}'`): string {
  const n = nearest(word, known);
  return n === undefined ? '' : ` (did you mean ${show(n)}?)`;
}

/** node:util parseArgs, with its faults as one plain line: an unknown
 *  option gets a did-you-mean; a negative number after an option that takes
 *  a value is that value (`--runs -1`), so the flag's own check names it. */
export function parseFlags<O extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>>(
  cmd: string,
  args: string[],
  options: O,
): { values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string }; positionals: string[] } {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    const next = args[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      joined.push(`${a}=${next}`);
      i++;
    } else joined.push(a);
    if (a === '--') joined.push(...args.slice(i + 1)), (i = args.length);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: true, strict: true }) as never;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const flags = Object.keys(options).map((k) => `--${k}`);
    const help = `allocspec ${cmd} --help`;
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const opt = /Unknown option '([^']+)'/.exec(err.message)?.[1] ?? '?';
      const bare = opt.split('=')[0]!;
      const near = nearest(bare, flags);
      throw new UsageError(`${cmd}: unknown option '${bare}' (${near ? `did you mean ${near}? ` : ''}${help} lists the options)`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const opt = /Option '(-\w, )?(--[\w-]+)/.exec(err.message)?.[2];
      if (opt && options[opt.slice(2)]?.type === 'boolean') throw new UsageError(`${cmd}: ${opt} takes no value`);
      if (opt) throw new UsageError(`${cmd}: ${opt} needs a value`);
    }
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`${cmd}: unexpected argument (${help})`);
    throw new UsageError(`${cmd}: ${err.message.split('\n')[0]!.replaceAll(/\s+/g, ' ')}`);
  }
}
