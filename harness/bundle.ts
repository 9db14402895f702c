// The exploration worker as one plain JavaScript file. Loading the
// TypeScript sources through tsx costs every worker thread about 1.5 s (tsx
// compiles each module again per thread); esbuild bundles the worker's entry
// and everything it imports once, into a file named by the hash of its
// inputs' content, under node_modules/.cache/allocspec/. A worker then
// starts on that file with no loader. The bundle is rebuilt when any input
// changes; it is written to a temporary file and renamed into place, so
// processes that race build the same file and never see half of one.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (this file is harness/bundle.ts). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'allocspec');
/** The bundle's inputs (paths relative to ROOT) of the last build. */
const INPUTS = join(CACHE_DIR, 'worker-inputs.json');
/** Bump when the build options below change. */
const FORMAT = 'allocspec-worker-2';
/** Bundles of other sources kept (another process may still be starting
 *  workers on one), most recent first. */
const KEEP = 4;

/** The worker's entry: serve jobs (harness/workers.ts). */
const ENTRY = `import { serve } from './workers.ts';\nserve();\n`;
/** Its name in the build (no such file: the entry is hashed as text). */
const ENTRY_NAME = 'worker-bundle-entry.ts';

/** Hash of the inputs' content, or null when one is gone. */
function hashOf(inputs: readonly string[]): string | null {
  // ROOT too: the bundle bakes in its sources' absolute URLs, and two
  // checkouts may share one node_modules (a git worktree's symlink)
  const h = createHash('sha256').update(FORMAT).update('\0').update(ROOT).update('\0').update(ENTRY);
  for (const rel of [...inputs].sort()) {
    const abs = join(ROOT, rel);
    if (!existsSync(abs)) return null;
    h.update('\0').update(rel).update('\0').update(readFileSync(abs));
  }
  return h.digest('hex').slice(0, 16);
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${process.hrtime.bigint()}.tmp`; // a name no other writer uses
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function bundleFile(hash: string): string {
  return join(CACHE_DIR, `worker-${hash}.mjs`);
}

/** Drop old bundles beyond KEEP (by modification time: housekeeping only). */
function prune(current: string): void {
  const old = readdirSync(CACHE_DIR)
    .filter((f) => /^worker-[0-9a-f]+\.mjs$/.test(f) && join(CACHE_DIR, f) !== current)
    .map((f) => ({ f: join(CACHE_DIR, f), t: statSync(join(CACHE_DIR, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of old.slice(KEEP)) {
    try {
      unlinkSync(f);
    } catch {
      // another process pruned it first
    }
  }
}

async function build(): Promise<string> {
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
    keepNames: true,
    logLevel: 'silent',
    // esbuild is only for the main thread's build
    external: ['esbuild'],
    // CommonJS dependencies call require()
    banner: { js: `import { createRequire as __allocspecRequire } from 'node:module';\nconst require = __allocspecRequire(import.meta.url);` },
    plugins: [
      {
        // tsx loads user policy files (harness/policies.ts); it finds its
        // own files relative to itself, so it stays a package import, and
        // is loaded at the first policy file: a worker that only runs
        // built-in policies does not pay for it
        name: 'lazy-tsx',
        setup(b) {
          b.onResolve({ filter: /^tsx(\/|$)/ }, (args) =>
            args.namespace === 'lazy-tsx' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-tsx' },
          );
          b.onLoad({ filter: /.*/, namespace: 'lazy-tsx' }, (args) => {
            if (args.path !== 'tsx/esm/api') return { errors: [{ text: `worker bundle: no lazy stand-in for ${args.path}` }] };
            return { contents: `export async function tsImport(...a) { return (await import('tsx/esm/api')).tsImport(...a); }\n`, loader: 'js' };
          });
        },
      },
      {
        // a source's import.meta.url is its own file's URL, not the bundle's
        name: 'import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.m?ts$/ }, (args) => {
            if (args.path.split(/[\\/]/).includes('node_modules')) return undefined;
            const url = pathToFileURL(args.path).href;
            const src = readFileSync(args.path, 'utf8')
              .replaceAll('import.meta.url', JSON.stringify(url))
              .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
              .replaceAll('import.meta.filename', JSON.stringify(args.path));
            return { contents: src, loader: 'ts', resolveDir: dirname(args.path) };
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
  if (!hash) throw new Error(`worker bundle: an input vanished while building: ${inputs.filter((p) => !existsSync(join(ROOT, p))).join(", ")}`);
  const file = bundleFile(hash);
  mkdirSync(CACHE_DIR, { recursive: true });
  writeAtomically(file, r.outputFiles[0]!.text);
  writeAtomically(INPUTS, JSON.stringify(inputs) + '\n');
  prune(file);
  return file;
}

/** The bundle for the current sources: the cached one, or a new build. */
export async function workerBundle(): Promise<string> {
  try {
    const inputs = JSON.parse(readFileSync(INPUTS, 'utf8')) as string[];
    const hash = hashOf(inputs);
    if (hash && existsSync(bundleFile(hash))) return bundleFile(hash);
  } catch {
    // no build yet, or an unreadable list: build
  }
  return build();
}

let memo: Promise<string | null> | undefined;
/** The bundle's path once per process; null when it cannot be built (no
 *  esbuild, read-only node_modules): workers then load the sources through
 *  tsx (harness/worker-entry.mjs). */
export function workerBundleOnce(): Promise<string | null> {
  return (memo ??= workerBundle().catch(() => null));
}
