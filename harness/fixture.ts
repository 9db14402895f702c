// Counterexamples as durable artefacts: counterexamples/<policy>/<invariant>-<hash>.json,
// written atomically (temp file, then rename) before anything is printed.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';

export const FIXTURE_FORMAT = 'allocspec-counterexample';
export const FIXTURE_VERSION = 1;

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Fixture {
  format: typeof FIXTURE_FORMAT;
  version: number;
  policy: string;
  /** a user policy loaded from a file: its path as given */
  policyFile?: string;
  /** sha256 of the spec/ and model/ sources it ran against */
  specHash: string;
  config: CheckConfig;
  promise: string[];
  /** fast-check seed and path of the failing run */
  seed: number;
  path: string;
  /** the shrunk commands, explicit: replay does not regenerate them */
  commands: Cmd[];
  expect: {
    verdict: 'violates' | 'holds';
    invariant: string | null;
    message: string | null;
  };
  /** sha256 of the text trace this fixture replays to */
  traceDigest: string;
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
}

let cachedSpecHash: string | null = null;
/** Content hash of spec/ and model/ (paths and bytes, in sorted order). */
export function specHash(extraFiles: string[] = []): string {
  if (cachedSpecHash && !extraFiles.length) return cachedSpecHash;
  const files: string[] = [];
  walk(join(ROOT, 'spec'), files);
  walk(join(ROOT, 'model'), files);
  files.sort();
  const h = createHash('sha256');
  for (const f of [...files, ...extraFiles]) {
    h.update(relative(ROOT, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  const d = h.digest('hex').slice(0, 16);
  if (!extraFiles.length) cachedSpecHash = d;
  return d;
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function fixturePath(dir: string, f: Fixture): string {
  const key = sha256(JSON.stringify([f.policy, f.config, f.commands])).slice(0, 8);
  const safe = f.policy.replace(/^\.+/, '').replace(/[^A-Za-z0-9_./-]/g, '_');
  return join(dir, safe, `${f.expect.invariant ?? 'holds'}-${key}.json`);
}

/** Write atomically: a reader (or a killed run) never sees a partial file. */
export function writeFixture(dir: string, f: Fixture): string {
  const p = fixturePath(dir, f);
  mkdirSync(dirname(p), { recursive: true });
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(f, null, 2) + '\n');
  renameSync(tmp, p);
  return p;
}
