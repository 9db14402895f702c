// `allocspec replay`: run a fixture's explicit commands (or regenerate a
// counterexample through fast-check from --policy/--seed/--path) and print
// the trace. Exit 1 when a violation shows, 0 when the run is clean, 2 on
// bad input. The output depends only on the fixture and the sources: no
// time, locale, environment or absolute path.
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Policy } from '../spec/policies/policy.ts';
import type { Io } from './check.ts';
import { CONFIGS, type CheckConfig } from './config.ts';
import { didYouMean, meanPrefix, parseFlags, PolicyError, UsageError } from './errors.ts';
import { explore } from './explore.ts';
import { MAX_FIXTURE_BYTES, parseFixture, ROOT, sha256, specHash, type Fixture } from './fixture.ts';
import { checkPath, inside, replayCommand, shownPath, userCwd, userPath } from './paths.ts';
import { fixtureRun, judgeFixture, updateCommand, type Judgement } from './regress.ts';
import { looksLikePath, resolvePolicy } from './policies.ts';
import { findPolicy, POLICIES } from '../spec/policies/index.ts';
import { renderHtml } from './render/html.ts';
import { renderJson } from './render/json.ts';
import { renderMermaid } from './render/mermaid.ts';
import { explain, renderStoryText, type Explanation } from './render/story.ts';
import { faultKinds } from './sim.ts';
import { renderText, TraceRecorder } from './trace.ts';

export const FORMATS = ['text', 'json', 'mermaid', 'html'] as const;
export type Format = (typeof FORMATS)[number];

/** Runs when regenerating by seed without --runs: check's default. */
const DEFAULT_RUNS = 2000;

const REPLAY_HELP = `usage: allocspec replay FILE|DIR... [--expect]
       allocspec replay --policy NAME|FILE --seed N [--path P] [--config NAME] [--runs N]
  FILE|DIR          saved counterexamples (counterexamples/<policy>/<invariant>-<hash>.json);
                    a directory stands for every .json file under it
  --expect          CI gate (docs/ci.md): exit 0 when every fixture ends as the gate
                    expects, 1 otherwise, one line each: a counterexample found in a
                    policy is red while it still violates, green once fixed; a zoo
                    variant's or a known finding's is green while it reproduces
  --policy --seed   regenerate through fast-check instead (the seed and path check printed)
  --path P          the fast-check path of the failing run (its first entry picks the run;
                    the shrink is replayed from there and arrives at the same commands)
  --config NAME     configuration (${Object.keys(CONFIGS).join(', ')}; default fixed)
  --runs N          runs to explore (default ${DEFAULT_RUNS})
  --hook-timeout S  seconds a policy hook may run without yielding before it is reported
                    as a policy error (default 5; 0: no watchdog, no worker thread)
  --update          record fixes (a fixed counterexample then states holds) and refresh
                    the specHash and traceDigest of fixtures that end as the gate
                    expects; keeps their commands; never rewrites a red one
  --format F        text (default), json (the explanation as data), mermaid (sequence diagram), html (timeline)
  --out FILE        write the rendering to FILE instead of stdout (- for stdout)
  -h, --help        this text
paths are relative to the directory you run allocspec in
exit: 0 the runs are clean (with --expect: every fixture ends as the gate expects)
      1 a violation shows (with --expect: a fixture is red)
      2 bad usage or bad input (one line on stderr)`;

/** The file as the output names it: relative to the repository when it is
 *  inside it, so output does not depend on where the checkout lives. */
export function displayPath(file: string): string {
  const abs = userPath(file);
  if (inside(userCwd(), abs)) return shownPath(abs);
  return abs.startsWith(ROOT + sep) ? relative(ROOT, abs).split(sep).join('/') : file;
}

/** The user's project a fixture belongs to: the nearest directory above it
 *  with a package.json or .git. */
function projectOf(file: string): string | null {
  for (let d = dirname(resolve(file)); ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) || existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return null;
  }
}

/** The fixture files named by FILE|DIR arguments: a directory stands for
 *  every .json file under it, in sorted order. */
export function fixtureFiles(args: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) out.push(p);
    }
  };
  for (const a of args) {
    checkPath('replay', a, 'read');
    const abs = userPath(a);
    let dir = false;
    try {
      dir = statSync(abs).isDirectory();
    } catch (e) {
      throw new UsageError(`${a}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!dir) {
      out.push(abs);
      continue;
    }
    const before = out.length;
    walk(abs);
    if (out.length === before) throw new UsageError(`${a}: no fixtures (.json files) under this directory`);
  }
  return out;
}

export interface LoadedFixture {
  fixture: Fixture;
  policy: Policy<unknown>;
  /** the file as output names it */
  name: string;
  /** the policy's file, absolute, when it is not a built-in */
  policyFile?: string;
}

/** Read and validate a fixture; every problem is one line naming the file
 *  and the field (a UsageError: exit 2). */
export async function loadFixture(file: string): Promise<LoadedFixture> {
  const name = displayPath(file);
  file = userPath(file);
  let raw: string;
  try {
    if (statSync(file).size > MAX_FIXTURE_BYTES) throw new UsageError(`${name}: larger than a fixture can be (${MAX_FIXTURE_BYTES >> 20} MB)`);
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${name}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const fixture = parseFixture(raw, name);
  let policy: Policy<unknown>;
  const field = fixture.policyFile !== undefined ? 'policyFile' : 'policy';
  let policyFile: string | undefined;
  if (fixture.policyFile !== undefined) {
    // relative to the fixture's own directory; only a file of the user's
    // project (or of the directory they run in) is loaded
    policyFile = resolve(dirname(file), fixture.policyFile);
    const project = projectOf(file);
    if (!inside(userCwd(), policyFile) && !(project && inside(project, policyFile))) {
      throw new UsageError(`${name}: field 'policyFile': '${fixture.policyFile}' is outside the project (${project ?? userCwd()}); not loading it`);
    }
  }
  if (policyFile === undefined) {
    // a fixture is data: its 'policy' names a built-in, never a file to
    // import (a file is loaded only through 'policyFile', inside the project)
    const builtin = findPolicy(fixture.policy);
    if (!builtin) {
      const what = looksLikePath(fixture.policy) ? 'looks like a path; a fixture loads a policy file only through \'policyFile\'' : `is not a built-in policy${didYouMean(fixture.policy, POLICIES.map((p) => p.name))}`;
      throw new UsageError(`${name}: field 'policy': '${fixture.policy}' ${what}; not loading it`);
    }
  }
  try {
    ({ policy } = policyFile === undefined ? { policy: findPolicy(fixture.policy)! } : await resolvePolicy(policyFile));
  } catch (e) {
    if (e instanceof UsageError || e instanceof PolicyError) throw new UsageError(`${name}: field '${field}': ${e.message}`);
    throw e;
  }
  if (policy.name !== fixture.policy) throw new UsageError(`${name}: field 'policy': '${fixture.policy}', but ${fixture.policyFile} defines '${policy.name}'`);
  const kinds = faultKinds(policy, fixture.config);
  fixture.commands.forEach((c, i) => {
    if (c.t === 'fault' && !kinds.includes(c.kind)) {
      throw new UsageError(`${name}: field 'commands[${i}].kind': fault '${c.kind}' is outside the configuration (${policy.name} injects: ${kinds.join(', ') || 'none'})`);
    }
  });
  return { fixture, policy, name, ...(policyFile ? { policyFile } : {}) };
}

export interface ReplayOutcome {
  name: string;
  /** the text trace (what traceDigest hashes) */
  trace: string;
  explanation: Explanation;
  /** the invariant the run broke, if any */
  violated: string | null;
  /** the run ended as the gate expects (harness/regress.ts judgeFixture) */
  matches: boolean;
  judgement: Judgement;
  /** spec/model sources changed since the fixture was saved */
  stale: boolean;
  /** the trace differs from the one the fixture was saved with */
  traceChanged: boolean;
  verdictLine: string;
  /** the fixture as loaded, and the digest of the trace it replays to now */
  fixture: Fixture;
  policyFile?: string;
  traceDigest: string;
}

function traceOf(policy: Policy<unknown>, cfg: CheckConfig, f: Pick<Fixture, 'commands' | 'promise'> & { expect?: Fixture['expect'] }) {
  const rec = new TraceRecorder();
  // the run check's regression replay judges too (harness/regress.ts)
  const violation = fixtureRun(policy, { ...f, config: cfg }, rec);
  return { events: rec.events, trace: renderText(rec.events, cfg.cpus), violation };
}

/** Was the fixture saved against other allocspec sources? Its specHash
 *  covers spec/, model/ and the command semantics; a user's policy file is
 *  not part of it (fixtures saved before it was left out hashed it too:
 *  those match with it). */
function isStale(f: Fixture, policyFile: string | undefined): boolean {
  return f.specHash !== specHash() && !(policyFile && f.specHash === specHash([policyFile]));
}

export async function replayFixture(file: string): Promise<ReplayOutcome> {
  const { fixture: f, policy, name, policyFile } = await loadFixture(file);
  const { events, trace, violation } = traceOf(policy, f.config, f);
  const explanation = explain({
    events,
    cpus: f.config.cpus,
    fixture: name,
    policy: f.policy,
    config: f.config.name,
    seed: f.seed,
    path: f.path,
    expected: f.expect.verdict,
    expectedInvariant: f.expect.invariant,
  });
  const got = violation?.invariant ?? null;
  const want = f.expect.invariant;
  const judgement = judgeFixture(policy, f, got);
  let verdictLine: string;
  if (f.expect.verdict === 'holds') {
    verdictLine = got === null ? `${name}: holds, as the fixture expects` : `${name}: violates ${got}, but the fixture expects it to hold`;
  } else if (got === want) verdictLine = `${name}: violation reproduces: ${want}`;
  else if (got === null) verdictLine = `${name}: no longer reproduces: no invariant is violated (the fixture expects ${want})${judgement.fixed ? `; the bug is fixed: record it with ${updateCommand(file)}` : ''}`;
  else verdictLine = `${name}: does not reproduce as saved: ${got} is violated instead of ${want}`;
  return {
    name,
    trace,
    explanation,
    violated: got,
    matches: judgement.ok,
    judgement,
    stale: isStale(f, policyFile),
    traceChanged: sha256(trace) !== f.traceDigest,
    verdictLine,
    fixture: f,
    ...(policyFile ? { policyFile } : {}),
    traceDigest: sha256(trace),
  };
}

function render(format: Format, xs: { trace: string; explanation: Explanation }[]): string {
  switch (format) {
    case 'text':
      return xs.map((x) => x.trace + renderStoryText(x.explanation)).join('\n');
    case 'json':
      return renderJson(xs.map((x) => x.explanation));
    case 'mermaid':
      return xs.map((x) => renderMermaid(x.explanation)).join('\n');
    case 'html':
      return renderHtml(xs.map((x) => x.explanation));
  }
}

function parse(args: string[]) {
  return parseFlags('replay', args, {
    policy: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    config: { type: 'string' },
    runs: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    update: { type: 'boolean' },
    expect: { type: 'boolean' },
    'hook-timeout': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

function nat(flag: string, v: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) > max) throw new UsageError(`replay: --${flag}: expected a whole number from 0 to ${max}, got '${v}'`);
  return Number(v);
}

export async function replay(args: string[], io: Io): Promise<number> {
  const { values: v, positionals: given } = parse(args);
  if (v.help) {
    io.out(REPLAY_HELP + '\n');
    return 0;
  }
  const format = (v.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`replay: --format: unknown format '${v.format}' (known: ${FORMATS.join(', ')})`);
  const bySeed = v.policy !== undefined || v.seed !== undefined;
  if (bySeed && given.length) throw new UsageError('replay: give fixture files or --policy/--seed, not both');
  if (!bySeed && (v.path !== undefined || v.config !== undefined || v.runs !== undefined)) {
    throw new UsageError('replay: --path, --config and --runs go with --policy and --seed');
  }
  if (!bySeed && !given.length) throw new UsageError('replay: give fixture files or directories (counterexamples/), or --policy P --seed S');
  if (v.expect && bySeed) throw new UsageError('replay: --expect goes with fixture files or directories');
  if (v.out !== undefined && v.out !== '-') checkPath('replay: --out', v.out, 'file');
  const files = bySeed ? [] : fixtureFiles(given);
  const ht = v['hook-timeout'] ?? '5';
  if (!/^\d+(\.\d+)?$/.test(ht) || Number(ht) > 3600) throw new UsageError(`replay: --hook-timeout: expected seconds from 0 to 3600, got '${ht}'`);
  if (files.length && Number(ht) > 0) {
    // every fixture loads and validates here first (one line, exit 2), then
    // runs once in a watched worker: a hook that never yields is named
    const named = [];
    for (const f of files) named.push({ file: f, policy: (await loadFixture(f)).fixture.policy });
    const { probeFixtures } = await import('./workers.ts');
    await probeFixtures(named, Number(ht) * 1000);
  }
  if (v.out === '-') delete v.out;

  // the rendering goes to --out or stdout; verdict lines to stdout unless
  // they would mix into a machine-readable document there
  const status = (s: string): void => (format === 'text' || v.out !== undefined ? io.out(s) : io.err(s));
  const done: { trace: string; explanation: Explanation }[] = [];
  const lines: string[] = [];
  const outcomes: (ReplayOutcome & { file: string })[] = [];
  let violated = false;

  if (bySeed) {
    if (v.policy === undefined || v.seed === undefined) throw new UsageError('replay: --policy and --seed go together');
    const seed = nat('seed', v.seed, 2 ** 31 - 1);
    const runs = v.runs === undefined ? DEFAULT_RUNS : Math.max(1, nat('runs', v.runs, 10_000_000));
    const base = CONFIGS[v.config ?? 'fixed'];
    if (!base) throw new UsageError(`replay: --config: unknown configuration '${v.config}' (${meanPrefix(v.config!, Object.keys(CONFIGS))}known: ${Object.keys(CONFIGS).join(', ')})`);
    if (v.path !== undefined && !/^\d+(:\d+)*$/.test(v.path)) throw new UsageError(`replay: --path: expected a fast-check path such as '3:0:1', got '${v.path}'`);
    const { policy } = await resolvePolicy(v.policy);
    const cfg = { ...base };
    // fast-check walks a path's shrink steps only with fc.commands'
    // replayPath (which commands ran), which fixtures do not hold; so take
    // the failing run from the path's first entry and shrink it again:
    // shrinking is deterministic, it arrives at the same commands
    const run = v.path?.split(':')[0];
    let r: ReturnType<typeof explore>;
    try {
      r = explore(policy, cfg, { seed, runs, path: run });
    } catch (e) {
      if (e instanceof Error && /Unable to replay/.test(e.message)) throw new UsageError(`replay: --path: fast-check cannot replay path '${v.path}' with seed ${seed}`);
      throw e;
    }
    const cx = r.counterexample;
    if (!cx) {
      status(`${policy.name} [${cfg.name}]: no counterexample with seed ${seed}${v.path ? ` path ${v.path}` : ''} in ${r.runs} runs\n`);
      return 0;
    }
    const { events, trace } = traceOf(policy, cfg, { commands: cx.commands, promise: [] });
    const explanation = explain({ events, cpus: cfg.cpus, fixture: null, policy: policy.name, config: cfg.name, seed: cx.seed, path: cx.path, expected: 'violates', expectedInvariant: cx.invariant });
    done.push({ trace, explanation });
    lines.push(`${policy.name} [${cfg.name}]: ${cx.invariant} violated (seed ${cx.seed}, path ${cx.path}, ${cx.commands.length} commands)`);
    violated = true;
  } else {
    for (const file of files) {
      const r = { ...(await replayFixture(file)), file };
      const own = r.policyFile !== undefined;
      if (r.stale) io.err(`${r.name}: stale fixture: the ${own ? 'allocspec ' : ''}sources it ran against (spec/, model/, command semantics) changed since it was saved (specHash differs); replaying anyway\n`);
      // a fixed bug changes the trace: that is what the gate's line says
      if (r.traceChanged && !r.judgement.fixed) {
        io.err(`${r.name}: the trace changed since the fixture was saved (traceDigest differs${own ? `; ${shownPath(r.policyFile!)} or allocspec changed` : ''}); the verdict is judged on the invariant\n`);
      }
      if (v.update && (r.stale || r.traceChanged || r.judgement.fixed)) {
        // after an intended change: keep the commands, refresh what the
        // fixture records of the sources and the trace; a regression whose
        // bug is fixed is recorded as `holds` (red if the bug comes back)
        if (!r.matches) io.err(`${r.name}: not updated: it does not end as the gate expects (${r.judgement.text})\n`);
        else {
          const fixedNow = r.judgement.fixed;
          const fresh: Fixture = {
            ...r.fixture,
            specHash: specHash(),
            ...(fixedNow ? { expect: { verdict: 'holds' as const, invariant: null, message: null } } : {}),
            traceDigest: r.traceDigest,
          };
          const tmp = `${file}.tmp-${process.pid}`; // file is absolute (fixtureFiles)
          writeFileSync(tmp, JSON.stringify(fresh, null, 2) + '\n');
          renameSync(tmp, file);
          io.err(fixedNow ? `${r.name}: recorded the fix (expect: holds; red again if ${r.fixture.expect.invariant} comes back)\n` : `${r.name}: updated (specHash and traceDigest)\n`);
        }
      }
      done.push(r);
      lines.push(r.verdictLine);
      violated ||= r.violated !== null;
      outcomes.push(r);
    }
  }

  if (v.expect) {
    // the CI gate (harness/regress.ts: one semantics with check): one line
    // per fixture, the replay command of each red one, one summary line
    const bad = outcomes.filter((r) => !r.matches);
    const fixed = outcomes.filter((r) => r.judgement.fixed && r.fixture.expect.verdict === 'violates');
    for (const r of outcomes) {
      io.out(`${r.matches ? 'ok  ' : 'FAIL'} ${r.name}: ${r.judgement.text}${r.matches ? '' : `; replay: ${replayCommand(r.file)}`}\n`);
    }
    io.out(
      bad.length
        ? `replay --expect: ${bad.length} of ${outcomes.length} fixture(s) do not end as the gate expects\n`
        : `replay --expect: all ${outcomes.length} fixture(s) end as the gate expects\n`,
    );
    if (fixed.length && !v.update) io.out(`replay --expect: ${fixed.length} fixed counterexample(s); record the fix${fixed.length > 1 ? 'es' : ''} with: ${updateCommand(given[0]!, given.slice(1))}\n`);
    return bad.length ? 1 : 0;
  }

  if (format === 'text' && v.out === undefined) {
    // each trace followed by its verdict
    done.forEach((d, i) => io.out((i ? '\n' : '') + render('text', [d]) + lines[i] + '\n'));
    return violated ? 1 : 0;
  }
  const doc = render(format, done);
  if (v.out !== undefined) {
    try {
      writeFileSync(userPath(v.out), doc);
    } catch (e) {
      throw new UsageError(`replay: --out ${v.out}: cannot write (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    status(`wrote ${displayPath(v.out)}\n`);
  } else io.out(doc);
  for (const l of lines) status(l + '\n');
  return violated ? 1 : 0;
}
