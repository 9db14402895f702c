// Resolve --policy arguments: a built-in name, or a path to a module whose
// default export (or export `policy`) is a Policy.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { userCwd } from './paths.ts';
import { findPolicy, POLICIES } from '../spec/policies/index.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { nearest, PolicyError, UsageError } from './errors.ts';

const HOOKS = ['init', 'alloc', 'free', 'destroy'] as const;

export function looksLikePath(s: string): boolean {
  return s.startsWith('.') || s.startsWith('/') || /\.(ts|mts|js|mjs)$/.test(s);
}

/** Check the shape of a loaded policy; name what is wrong. */
export function validatePolicy(p: unknown, from: string): Policy<unknown> {
  if (typeof p !== 'object' || p === null) throw new PolicyError(from, 'module', 'at load', 'exports no policy object (export default a Policy)');
  const o = p as Record<string, unknown>;
  if (typeof o.name !== 'string' || !o.name) throw new PolicyError(from, 'name', 'at load', 'is missing or not a string');
  for (const h of HOOKS) {
    if (typeof o[h] !== 'function') throw new PolicyError(o.name, h, 'at load', 'is missing or not a function');
  }
  return p as Policy<unknown>;
}

/** Set by bin/allocspec.mjs once tsx's loader is registered for the
 *  process: a plain import() of a policy file then goes through that loader
 *  and the one module cache, so the policy and the harness share one
 *  instance of every spec/ module. */
export const TSX_REGISTERED = Symbol.for('allocspec.tsxRegistered');

/** Is `file` an ES module by Node's rules: .mts, or .ts/.js under a
 *  package.json with "type": "module"? */
function isEsm(file: string): boolean {
  if (/\.m[tj]s$/.test(file)) return true;
  if (/\.c[tj]s$/.test(file)) return false;
  for (let d = dirname(file); ; d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      try {
        return (JSON.parse(readFileSync(pj, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(d) === d) return false;
  }
}

/** Import a policy module: an ES module through the registered loader when
 *  there is one (one module cache: the policy and the harness share one
 *  instance of every spec/ module); otherwise, or for a file Node would
 *  take as CommonJS (no "type": "module" above it), through tsx's
 *  tsImport, which follows the file's own module type but loads its own
 *  copies of what the file imports (spec/ values are recognised by brand,
 *  so violations still count). */
export async function importPolicyFile(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if ((globalThis as Record<symbol, unknown>)[TSX_REGISTERED] && isEsm(file)) return (await import(url)) as Record<string, unknown>;
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}

/** A built-in policy by name, or a policy file: `arg` relative to `base`
 *  (default: the directory the user ran the command in). */
export async function resolvePolicy(arg: string, base: string = userCwd()): Promise<{ policy: Policy<unknown>; file?: string }> {
  const builtin = findPolicy(arg);
  if (builtin) return { policy: builtin };
  if (!looksLikePath(arg)) {
    const near = nearest(arg, POLICIES.map((p) => p.name));
    throw new UsageError(`unknown policy '${arg}' (${near ? `did you mean '${near}'? ` : 'not a built-in (README.md lists them); '}a policy file is a path such as ./my-policy.ts)`);
  }
  const file = resolve(base, arg);
  if (!existsSync(file)) throw new UsageError(`policy file not found: ${arg}`);
  let mod: Record<string, unknown>;
  try {
    mod = await importPolicyFile(file);
  } catch (e) {
    throw new PolicyError(arg, 'module', 'failed to load', e);
  }
  const inner = (mod.default ?? {}) as Record<string, unknown>;
  const picked = inner && typeof inner === 'object' && 'init' in inner ? inner : (inner.default ?? inner.policy ?? mod.policy);
  return { policy: validatePolicy(picked ?? mod.default, arg), file };
}
