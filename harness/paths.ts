// One rule for paths: everything a user names (--policy, --fixtures,
// --json, --junit, --out, fixture files) is relative to the directory they
// ran the command in, and output names files relative to it too.
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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
