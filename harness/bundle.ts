// The sources as one plain JavaScript file. Loading the TypeScript sources
// through tsx costs a process or a worker thread about a second (tsx
// compiles each module again per thread); esbuild bundles the command
// line's main and the worker's serve, and everything they import, once,
// into a file named by the hash of its inputs' content, under
// node_modules/.cache/allocspec/ (harness/bundle-cache.mjs). bin/allocspec.mjs
// starts from it when it is fresh, and worker threads start on it with no
// loader. The bundle is rebuilt when any input changes; it is written to a
// temporary file and renamed into place, so processes that race build the
// same file and never see half of one.
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleFile, CACHE_DIR, ENTRY, freshBundle, hashOf, INPUTS, isDependency, ROOT, ROOT_ID, STARTED_FROM } from './bundle-cache.mjs';

export { CACHE_DIR } from './bundle-cache.mjs';

/** Bundles of this checkout's older sources kept (another process may
 *  still be starting on one), most recent first. */
const KEEP = 4;

/** The entry's name in the build (no such file: the entry is hashed as text). */
const ENTRY_NAME = 'allocspec-bundle-entry.ts';

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${process.hrtime.bigint()}.tmp`; // a name no other writer uses
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Drop this checkout's old bundles beyond KEEP (by modification time:
 *  housekeeping only). */
function prune(current: string): void {
  const mine = new RegExp(`^bundle-${ROOT_ID}-[0-9a-f]+\\.mjs$`);
  const old = readdirSync(CACHE_DIR)
    .filter((f) => mine.test(f) && join(CACHE_DIR, f) !== current)
    .map((f) => ({ f: join(CACHE_DIR, f), t: statSync(join(CACHE_DIR, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .slice(KEEP);
  for (const { f } of old) {
    try {
      unlinkSync(f);
    } catch {
      // another process pruned it first
    }
  }
}

async function build(): Promise<string> {
  // a read-only or absent cache (an installed package): fail before the build
  mkdirSync(CACHE_DIR, { recursive: true });
  accessSync(CACHE_DIR, constants.W_OK);
  const { build: esbuild } = await import('esbuild');
  const r = await esbuild({
    stdin: { contents: ENTRY, resolveDir: join(ROOT, 'harness'), sourcefile: ENTRY_NAME, loader: 'ts' },
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // no keepNames: its __name() call on every closure the spec creates
    // (a property redefined on each new function object) cost exploration
    // about a third of its CPU time; nothing reads a function's name (the
    // spec names kernel functions, hooks and callbacks with strings), and
    // the startup test compares the bundle's report with the sources'
    keepNames: false,
    logLevel: 'silent',
    // esbuild is only for the build
    external: ['esbuild'],
    // CommonJS dependencies call require()
    banner: { js: `import { createRequire as __allocspecRequire } from 'node:module';\nconst require = __allocspecRequire(import.meta.url);` },
    plugins: [
      {
        // tsx loads user policy files (harness/policies.ts); it finds its
        // own files relative to itself, so it stays a package import, and
        // is loaded at the first policy file: a process or worker that only
        // runs built-in policies does not pay for it
        name: 'lazy-tsx',
        setup(b) {
          b.onResolve({ filter: /^tsx(\/|$)/ }, (args) =>
            args.namespace === 'lazy-tsx' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-tsx' },
          );
          b.onLoad({ filter: /.*/, namespace: 'lazy-tsx' }, (args) => {
            if (args.path !== 'tsx/esm/api') return { errors: [{ text: `bundle: no lazy stand-in for ${args.path}` }] };
            return { contents: `export async function tsImport(...a) { return (await import('tsx/esm/api')).tsImport(...a); }\n`, loader: 'js' };
          });
        },
      },
      {
        // a source's import.meta.url is its own file's URL, not the bundle's
        name: 'import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.(m?ts|mjs)$/ }, (args) => {
            // a dependency's import.meta stays as it is; the package's own
            // sources are rewritten, wherever the package lives (installed,
            // it is itself under a node_modules/)
            if (isDependency(relative(ROOT, args.path))) return undefined;
            const url = pathToFileURL(args.path).href;
            const src = readFileSync(args.path, 'utf8')
              .replaceAll('import.meta.url', JSON.stringify(url))
              .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
              .replaceAll('import.meta.filename', JSON.stringify(args.path));
            return { contents: src, loader: args.path.endsWith('.mjs') ? 'js' : 'ts', resolveDir: dirname(args.path) };
          });
        },
      },
    ],
  });
  const inputs = Object.keys(r.metafile.inputs)
    .filter((p) => !p.startsWith('lazy-tsx:')) // generated text, hashed with FORMAT
    .map((p) => relative(ROOT, resolve(ROOT, p)))
    .filter((p) => p !== join('harness', ENTRY_NAME));
  const hash = hashOf(inputs);
  if (!hash) throw new Error(`bundle: an input vanished while building`);
  const file = bundleFile(hash);
  mkdirSync(CACHE_DIR, { recursive: true });
  writeAtomically(file, r.outputFiles[0]!.text);
  writeAtomically(INPUTS, JSON.stringify(inputs) + '\n');
  prune(file);
  return file;
}

/** The bundle for the current sources: the one this process started
 *  from, the cached one, or a new build. */
export async function sourceBundle(): Promise<string> {
  const started = (globalThis as Record<symbol, unknown>)[STARTED_FROM];
  if (typeof started === 'string') return started;
  return freshBundle() ?? build();
}

let memo: Promise<string | null> | undefined;
/** The bundle's path once per process; null when it cannot be built (no
 *  esbuild, a read-only or absent node_modules): workers then load the
 *  sources through tsx (harness/worker-entry.mjs). */
export function sourceBundleOnce(): Promise<string | null> {
  return (memo ??= sourceBundle().catch(() => null));
}
