// Counterexamples as durable artefacts: counterexamples/<policy>/<invariant>-<hash>.json,
// written atomically (temp file, then rename) before anything is printed.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isInvariant } from '../model/invariants.ts';
import { CmdSchema, type Cmd } from './commands.ts';
import type { CheckConfig } from './config.ts';
import { UsageError } from './errors.ts';

export const FIXTURE_FORMAT = 'allocspec-counterexample';
export const FIXTURE_VERSION = 1;
export { MAX_COMMANDS, MAX_FIXTURE_BYTES } from './limits.ts';
import { MAX_COMMANDS } from './limits.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Fixture {
  format: typeof FIXTURE_FORMAT;
  version: number;
  policy: string;
  /** a user policy loaded from a file: its path relative to the fixture's
   *  own directory (forward slashes), so the fixture replays from any
   *  checkout of the user's repository */
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

/** The harness files that give a fixture's commands their meaning (what a
 *  command runs, its fallbacks, the programs and the end of a run). */
const COMMAND_SEMANTICS = ['harness/commands.ts', 'harness/sim.ts', 'harness/programs.ts'];

let cachedSpecHash: string | null = null;
/** Content hash of spec/, model/ and the command semantics (paths and
 *  bytes, in sorted order): a fixture saved against other sources is stale. */
export function specHash(extraFiles: string[] = []): string {
  if (cachedSpecHash && !extraFiles.length) return cachedSpecHash;
  const files: string[] = COMMAND_SEMANTICS.map((f) => join(ROOT, f));
  walk(join(ROOT, 'spec'), files);
  walk(join(ROOT, 'model'), files);
  files.sort();
  const h = createHash('sha256');
  for (const f of [...files, ...extraFiles]) {
    // a user's policy file by its name only: where the checkout lives
    // does not make a fixture stale
    h.update(extraFiles.includes(f) ? basename(f) : relative(ROOT, f));
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

/** A policy name as a directory under the fixtures directory: `bug/x`
 *  keeps its slash, but no segment can climb out (`..`, `.`, empty) and
 *  only plain characters remain. */
export function policyDir(name: string): string {
  return name
    .split('/')
    .map((seg) => (seg === '' || /^\.+$/.test(seg) ? '_' : seg.replace(/[^A-Za-z0-9_.-]/g, '_')))
    .join('/');
}

export function fixturePath(dir: string, f: Fixture): string {
  const key = sha256(JSON.stringify([f.policy, f.config, f.commands])).slice(0, 8);
  const p = join(dir, policyDir(f.policy), `${f.expect.invariant ?? 'holds'}-${key}.json`);
  const rel = relative(resolve(dir), resolve(p));
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UsageError(`policy name '${f.policy}' leaves the fixtures directory`);
  return p;
}

/** Does `p` already hold a fixture of these commands (same policy and
 *  configuration)? Another seed that shrinks to the same commands then
 *  leaves it as it is: its seed, path and message would be the only change,
 *  and a check must not dirty a committed tree (nor undo a recorded fix). */
function sameCommands(p: string, f: Fixture): boolean {
  try {
    const old = JSON.parse(readFileSync(p, 'utf8')) as Partial<Fixture>;
    return old.policy === f.policy && JSON.stringify(old.config) === JSON.stringify(f.config) && JSON.stringify(old.commands) === JSON.stringify(f.commands);
  } catch {
    return false; // absent or unreadable: write it
  }
}

/** Write atomically: a reader (or a killed run) never sees a partial file.
 *  A policy file is stored relative to the fixture's directory. A fixture
 *  whose commands are already saved there is left untouched. */
export function writeFixture(dir: string, f: Fixture): string {
  const p = fixturePath(dir, f);
  if (sameCommands(p, f)) return p;
  const out: Fixture = f.policyFile && isAbsolute(f.policyFile) ? { ...f, policyFile: relative(dirname(resolve(p)), f.policyFile).split(sep).join('/') } : f;
  mkdirSync(dirname(p), { recursive: true });
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(out, null, 2) + '\n');
  renameSync(tmp, p);
  return p;
}

// ---- validation: one line naming the file and the field ----

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `expected ${n} lowercase hex digits`);

const ConfigSchema = z.strictObject({
  name: z.string(),
  cpus: int(1, 64),
  size: int(0, 1 << 20),
  allocSizes: z.array(int(1, 4096)),
  percpu: z.boolean(),
  preemptRt: z.boolean(),
  rcuTraceImpliesRcuGp: z.boolean(),
  objects: int(1, 100_000),
  nmi: z.boolean(),
  faults: z.boolean(),
  maxCommands: int(1, MAX_COMMANDS),
  maxTaskNesting: int(1, 8),
  stepLimit: int(100),
}) satisfies z.ZodType<CheckConfig>;

// Commands: the schema each kind declares in the command table; cpu and
// arg are checked against the fixture's own configuration in checkCommands().

const ExpectSchema = z.discriminatedUnion('verdict', [
  z.strictObject({
    verdict: z.literal('violates'),
    invariant: z.string().refine(isInvariant, 'unknown invariant'),
    message: z.string(),
  }),
  z.strictObject({ verdict: z.literal('holds'), invariant: z.null(), message: z.null() }),
]);

export const FixtureSchema = z.strictObject({
  format: z.literal(FIXTURE_FORMAT),
  version: z.literal(FIXTURE_VERSION),
  policy: z.string().min(1),
  policyFile: z.string().min(1).optional(),
  specHash: hex(16),
  config: ConfigSchema,
  promise: z.array(z.string().refine(isInvariant, 'unknown invariant')),
  seed: int(-(2 ** 31), 2 ** 32),
  path: z.string().regex(/^(\d+(:\d+)*)?$/, "expected a fast-check path such as '3:0:1'"),
  commands: z.array(CmdSchema),
  expect: ExpectSchema,
  traceDigest: hex(64),
});

// what the schema accepts is a Fixture, and every Cmd passes the schema
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const isFixture: z.infer<typeof FixtureSchema> extends Fixture ? true : false = true;
const sameCmd: Same<z.infer<typeof CmdSchema>, Cmd> = true as const;
void isFixture;
void sameCmd;

/** A field path as people write it: commands[2].cpu */
export function fieldName(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : `${s ? '.' : ''}${String(k)}`;
  return s || '(top level)';
}

function has(data: unknown, path: readonly PropertyKey[]): boolean {
  let v: unknown = data;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || !Object.prototype.hasOwnProperty.call(v, k)) return false;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return true;
}

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

function issueText(data: unknown, i: z.core.$ZodIssue): string {
  const field = fieldName(i.path);
  if (i.code === 'invalid_type' && !has(data, i.path)) return `missing field '${field}'`;
  if (i.code === 'unrecognized_keys') return `field '${fieldName([...i.path, i.keys[0]!])}': unknown field`;
  if (i.code === 'invalid_union' && 'discriminator' in i) {
    const d = i.discriminator as string;
    const at = i.path.at(-1) === d ? i.path : [...i.path, d];
    if (!has(data, at)) return `missing field '${fieldName(at)}'`;
    const opts = ((i as { options?: unknown[] }).options ?? []).map(show).join(', ');
    return `field '${fieldName(at)}': unknown value ${show((i as { input?: { [k: string]: unknown } }).input?.[d])} (expected one of ${opts})`;
  }
  const got = 'input' in i ? ` (got ${show(i.input)})` : '';
  return `field '${field}': ${i.message}${got}`;
}

/** Parse and check a fixture's text: JSON, format, version, every field,
 *  and every command against the fixture's own configuration. The error
 *  is one line: the file, the field, what is wrong. */
export function parseFixture(raw: string, file: string): Fixture {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`${file}: malformed JSON (${(e as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(`${file}: not a fixture (expected a JSON object)`);
  const o = data as Record<string, unknown>;
  // format and version first: a fixture from another version is named as
  // such, not as a list of field errors
  if (!('format' in o)) throw new UsageError(`${file}: missing field 'format'`);
  if (o.format !== FIXTURE_FORMAT) throw new UsageError(`${file}: field 'format': expected '${FIXTURE_FORMAT}', got ${show(o.format)}`);
  if (!('version' in o)) throw new UsageError(`${file}: missing field 'version'`);
  if (o.version !== FIXTURE_VERSION) {
    throw new UsageError(`${file}: field 'version': unknown format version ${show(o.version)} (this allocspec reads version ${FIXTURE_VERSION})`);
  }
  const r = FixtureSchema.safeParse(data, { reportInput: true });
  if (!r.success) throw new UsageError(`${file}: ${issueText(data, r.error.issues[0]!)}`);
  const f: Fixture = r.data;
  checkCommands(f, file);
  return f;
}

/** Every CPU and object a command names lies inside the configuration. */
function checkCommands(f: Fixture, file: string): void {
  const { cpus, objects, nmi, faults, maxCommands } = f.config;
  // a run has at most maxCommands commands; a longer list is not a run
  if (f.commands.length > maxCommands) {
    throw new UsageError(`${file}: field 'commands': ${f.commands.length} commands, more than a run of its configuration has (config.maxCommands is ${maxCommands})`);
  }
  f.commands.forEach((c, i) => {
    const at = (k: string): string => `${file}: field 'commands[${i}].${k}'`;
    if ('cpu' in c && c.cpu >= cpus) throw new UsageError(`${at('cpu')}: cpu${c.cpu} is outside the configuration (config.cpus is ${cpus})`);
    if ('arg' in c && c.arg >= objects) {
      throw new UsageError(`${at('arg')}: object #${c.arg} is outside the configuration (config.objects is ${objects})`);
    }
    if (c.t === 'prog' && c.count > objects) throw new UsageError(`${at('count')}: ${c.count} objects is more than the configuration has (config.objects is ${objects})`);
    if (c.t === 'nmi' && !nmi) throw new UsageError(`${at('t')}: an NMI command, but the configuration has config.nmi false`);
    if (c.t === 'fault' && !faults) throw new UsageError(`${at('kind')}: a fault command, but the configuration has config.faults false`);
  });
}
