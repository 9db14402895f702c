// `check --policy FILE` type-checks a TypeScript policy file against the
// package's types before it loads it: a policy that no longer fits the
// Policy API (a hook's arguments changed, a constructor gained one) is one
// line `file:line:col: message` and exit 2, instead of a crash deep in a
// run. Only the file's own diagnostics count (the package's sources are
// checked by the package). A verdict is cached under the OS temp directory,
// keyed by the content of every source file the check read: a second run
// on unchanged files only hashes them.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { UsageError } from './errors.ts';
import { userCwd } from './paths.ts';

/** A type error in a policy file: printed as the line itself. */
export class PolicyTypeError extends UsageError {
  override name = 'PolicyTypeError';
  /** print the message alone (it is `file:line:col: message`) */
  readonly bare = true;
}

interface Cached {
  /** the first error line, or null: the file type-checks */
  error: string | null;
  /** every source file the verdict read, with the hash of its content */
  files: [string, string][];
}

const hash = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
/** source files parsed in this process, by name and content */
const parsed = new Map<string, import('typescript').SourceFile>();
const CACHE_DIR = join(tmpdir(), 'allocspec-typecheck');

function cacheFile(file: string, tsVersion: string): string {
  return join(CACHE_DIR, `${hash(`${tsVersion}\0${file}`).slice(0, 24)}.json`);
}

function fresh(c: Cached): boolean {
  try {
    return c.files.every(([f, h]) => hash(readFileSync(f)) === h);
  } catch {
    return false;
  }
}

/** Type-check a policy file (.ts, .mts, .cts; a JavaScript file is not
 *  checked): throws PolicyTypeError with the first error. */
export async function typecheckPolicy(file: string): Promise<void> {
  if (!/\.[cm]?ts$/.test(file)) return;
  const ts = (await import('typescript')).default;
  const key = cacheFile(file, ts.version);
  try {
    const c = JSON.parse(readFileSync(key, 'utf8')) as Cached;
    if (fresh(c)) {
      if (c.error) throw new PolicyTypeError(c.error);
      return;
    }
  } catch (e) {
    if (e instanceof PolicyTypeError) throw e;
  }
  const options: import('typescript').CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    // what the file calls must fit the package's types; how strictly the
    // file types its own code is its business (untyped parameters pass)
    strict: false,
    noImplicitAny: false,
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    // the package's types, not the project's ambient ones
    types: [],
  };
  // one process checking several files (the tests, a --policy list)
  // parses the standard library and the package once
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => {
    const text = host.readFile(name);
    if (text === undefined) return read(name, lang, onError, create);
    const k = `${name}\0${hash(text)}`;
    let sf = parsed.get(k);
    if (!sf) parsed.set(k, (sf = ts.createSourceFile(name, text, lang)));
    return sf;
  };
  const program = ts.createProgram([file], options, host);
  const sf = program.getSourceFile(file);
  const diags = sf ? [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)] : [];
  const first = diags.find((d) => d.category === ts.DiagnosticCategory.Error);
  let error: string | null = null;
  if (first) {
    const shown = relative(userCwd(), file) || file;
    const at = first.file && first.start !== undefined ? first.file.getLineAndCharacterOfPosition(first.start) : { line: 0, character: 0 };
    error = `${shown}:${at.line + 1}:${at.character + 1}: ${ts.flattenDiagnosticMessageText(first.messageText, ' ')}`;
  }
  const files: [string, string][] = program
    .getSourceFiles()
    .filter((s) => !program.isSourceFileDefaultLibrary(s))
    .map((s) => [s.fileName, hash(s.text)]);
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${key}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ error, files } satisfies Cached));
    renameSync(tmp, key);
  } catch {
    // no cache: the next run checks again
  }
  if (error) throw new PolicyTypeError(error);
}
