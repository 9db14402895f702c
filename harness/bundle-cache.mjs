// Where the bundle of the sources is cached and whether it is fresh, in
// plain JavaScript: bin/allocspec.mjs asks this before it loads anything
// else, so a command whose bundle is fresh starts without tsx (the build
// itself is harness/bundle.ts). The bundle is named by the hash of its
// inputs (hashOf: the package's sources and the dependencies it holds);
// the list of inputs of the last build is kept beside it. Both are per checkout (the
// hash of this directory is in their names): checkouts that share one
// node_modules (git worktrees) keep their own.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (this file is harness/bundle-cache.mjs). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'allocspec');
/** Bump when the build options (harness/bundle.ts) change. */
export const FORMAT = 'allocspec-bundle-4';
/** The bundle's entry: the command line's main and the worker's serve. */
export const ENTRY = `export { main } from './cli.ts';\nexport { serve } from './workers.ts';\n`;
/** This checkout's part of the cache's file names. */
export const ROOT_ID = createHash('sha256').update(ROOT).digest('hex').slice(0, 8);
/** The bundle's inputs (paths relative to ROOT) of the last build. */
export const INPUTS = join(CACHE_DIR, `inputs-${ROOT_ID}.json`);

/** Is this input (a path relative to ROOT) a dependency's file rather
 *  than one of the package's own sources? In a checkout dependencies are
 *  under ROOT/node_modules; installed, the package is itself in a
 *  node_modules/ and its dependencies are beside it (../zod/...). */
export function isDependency(rel) {
  return rel.startsWith('..') || isAbsolute(rel) || rel.split(/[\\/]/).includes('node_modules');
}

/** Hash of the inputs, or null when one is gone: the content of the
 *  package's own sources; the size and modification time of the files of
 *  dependencies (under node_modules: npm rewrites them only when it
 *  installs, and reading them all would cost this check most of its time). */
export function hashOf(inputs) {
  // ROOT too: the bundle bakes in its sources' absolute URLs
  const h = createHash('sha256').update(FORMAT).update('\0').update(ROOT).update('\0').update(ENTRY);
  for (const rel of [...inputs].sort()) {
    try {
      if (isDependency(rel)) {
        const st = statSync(join(ROOT, rel));
        h.update('\0').update(rel).update('\0').update(`${st.size}:${st.mtimeMs}`);
      } else h.update('\0').update(rel).update('\0').update(readFileSync(join(ROOT, rel)));
    } catch {
      return null;
    }
  }
  return h.digest('hex').slice(0, 16);
}

export function bundleFile(hash) {
  return join(CACHE_DIR, `bundle-${ROOT_ID}-${hash}.mjs`);
}

/** The cached bundle when it was built from the current sources, else
 *  null (never built, an input changed or vanished, no cache directory). */
export function freshBundle() {
  try {
    const hash = hashOf(JSON.parse(readFileSync(INPUTS, 'utf8')));
    if (hash && existsSync(bundleFile(hash))) return bundleFile(hash);
  } catch {
    // no build yet, or an unreadable list
  }
  return null;
}

/** Set by bin/allocspec.mjs to the bundle it started from: the workers
 *  start on the same file, with no second look at the sources. */
export const STARTED_FROM = Symbol.for('allocspec.bundle');
