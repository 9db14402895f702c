// One rule for paths: everything a user names (--policy, --fixtures,
// --json, --junit, --out, fixture files) is relative to the directory they
// ran the command in, and output names files relative to it too.
import { accessSync, constants, existsSync, realpathSync, statfsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.ts';

/** The package's own directory (this file is harness/paths.ts). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The directory the user ran allocspec in. `npm --prefix REPO run check`
 *  runs in the package directory and passes the caller's directory as
 *  INIT_CWD; INIT_CWD is trusted only then (an outer `npm test` leaves a
 *  stale INIT_CWD in the environment of every child process). */
export function userCwd(): string {
  const cwd = process.cwd();
  const init = process.env.INIT_CWD;
  return init && resolve(cwd) === ROOT && process.env.npm_lifecycle_event ? resolve(init) : cwd;
}

/** A path the user named, made absolute. */
export function userPath(p: string): string {
  return resolve(userCwd(), p);
}

/** Is `p` the directory `dir` or inside it? */
export function inside(dir: string, p: string): boolean {
  const rel = relative(resolve(dir), resolve(p));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** A file as output names it: relative to the user's directory when it is
 *  inside it (output does not depend on where the checkout lives), with
 *  forward slashes; absolute otherwise. */
export function shownPath(p: string): string {
  const abs = resolve(userCwd(), p);
  return inside(userCwd(), abs) ? relative(userCwd(), abs).split(sep).join('/') || '.' : abs;
}

/** A word as a POSIX shell reads it back. */
function shellWord(s: string): string {
  return /^[\w./@:+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The command that runs `allocspec check ARGS` again, as it works where
 *  it is printed (see replayCommand). */
export function checkCommand(args: readonly string[]): string {
  const a = args.map(shellWord).join(' ');
  if (userCwd() === ROOT) return `npm run check --${a ? ` ${a}` : ''}`;
  if (resolve(process.cwd()) === ROOT) return `npm --prefix ${ROOT} run check --${a ? ` ${a}` : ''}`;
  return `npx allocspec check${a ? ` ${a}` : ''}`;
}

/** The command that replays `target` (a fixture file or directory), as it
 *  works where it is printed: `npm run replay` inside this checkout,
 *  `npm --prefix` when the check ran that way, `npx allocspec` elsewhere. */
export function replayCommand(target: string): string {
  const shown = shownPath(target);
  const arg = /^[\w./@:+-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", "'\\''")}'`;
  const here = userCwd();
  if (here === ROOT) return `npm run replay -- ${arg}`;
  if (resolve(process.cwd()) === ROOT) return `npm --prefix ${ROOT} run replay -- ${arg}`;
  return `npx allocspec replay ${arg}`;
}

/** Filesystems of the kernel's own files (proc, sysfs, cgroup, debugfs,
 *  tracefs, securityfs, devpts, bpf, configfs, pstore, efivarfs): writing
 *  or walking them never ends well (a directory walk of /proc does not
 *  end, mkdir there loops). By statfs(2) f_type. */
const PSEUDO_FS = new Set([0x9fa0, 0x62656572, 0x27e0eb, 0x63677270, 0x64626720, 0x74726163, 0x73636673, 0x1cd1, 0xcafe4a11, 0x62656570, 0x6165676c, 0xde5e81e4]);
/** Device files a report may go to. */
const DEVICE_OUTPUTS = new Set(['/dev/null', '/dev/stdout', '/dev/stderr']);

/** The nearest path at or above `abs` that exists. */
function nearestExisting(abs: string): string {
  let d = abs;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** Is this (existing) path on a pseudo filesystem? */
function pseudo(existing: string): boolean {
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // keep the path as given
  }
  if (/^\/(proc|sys)(\/|$)/.test(real) || (/^\/dev(\/|$)/.test(real) && !/^\/dev\/shm(\/|$)/.test(real))) return true;
  try {
    return PSEUDO_FS.has(Number(statfsSync(real).type));
  } catch {
    return false;
  }
}

/** Refuse up front (one line, exit 2) a path the user named that a command
 *  would fail to use only later, or hang on: a pseudo filesystem (/proc,
 *  /sys, /dev), a file where a directory goes or the other way round, a
 *  missing parent directory, an unwritable one (`write`). `kind`: what the
 *  path must be (`read-dir`: a directory or file to read fixtures from). */
export function checkPath(flag: string, p: string, kind: 'file' | 'dir' | 'read'): void {
  const abs = userPath(p);
  if (kind === 'file' && (DEVICE_OUTPUTS.has(abs) || abs.startsWith('/dev/fd/'))) return;
  const at = nearestExisting(abs);
  const fail = (why: string): never => {
    throw new UsageError(`${flag} ${p}: ${why}`);
  };
  if (pseudo(at)) fail(`on a pseudo filesystem (${at.split(sep).slice(0, 2).join(sep) || at}), not a place for ${kind === 'read' ? 'fixtures' : 'files'}`);
  if (kind === 'read') return;
  let st;
  try {
    st = statSync(at);
  } catch (e) {
    return fail(`cannot ${kind === 'dir' ? 'create' : 'write'} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (at === abs) {
    if (kind === 'file' && st.isDirectory()) fail('cannot write (EISDIR: a directory)');
    if (kind === 'dir' && !st.isDirectory()) fail('cannot create (ENOTDIR: a file, not a directory)');
  } else {
    if (!st.isDirectory()) fail(`cannot ${kind === 'dir' ? 'create' : 'write'} (ENOTDIR: ${shownPath(at)} is a file)`);
    if (kind === 'file' && at !== dirname(abs)) fail(`cannot write (ENOENT: no directory ${shownPath(dirname(abs))})`);
  }
  if (kind === 'file') {
    try {
      accessSync(at, constants.W_OK);
    } catch (e) {
      fail(`cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}
