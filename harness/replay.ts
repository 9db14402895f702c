// `allocspec replay FILE...`: run a fixture's explicit commands and print
// the trace; exit 1 if the violation reproduces, 0 if it no longer does.
import { readFileSync } from 'node:fs';
import { isInvariant } from '../model/invariants.ts';
import { runCommands } from './explore.ts';
import { FIXTURE_FORMAT, FIXTURE_VERSION, sha256, specHash, type Fixture } from './fixture.ts';
import { resolvePolicy } from './policies.ts';
import { UsageError } from './errors.ts';
import { renderText, TraceRecorder } from './trace.ts';
import type { Io } from './check.ts';

export function loadFixture(file: string): Fixture {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: cannot read`);
  }
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${file}: malformed JSON (${(e as Error).message})`);
  }
  if (f.format !== FIXTURE_FORMAT) throw new UsageError(`${file}: field 'format' must be '${FIXTURE_FORMAT}'`);
  if (f.version !== FIXTURE_VERSION) throw new UsageError(`${file}: field 'version': unknown format version ${String(f.version)}`);
  for (const k of ['policy', 'config', 'commands', 'expect']) if (!(k in f)) throw new UsageError(`${file}: missing field '${k}'`);
  return f as unknown as Fixture;
}

export interface ReplayOutcome {
  file: string;
  reproduced: boolean;
  trace: string;
  expectedVerdict: 'violates' | 'holds';
  stale: boolean;
}

export async function replayFixture(file: string): Promise<ReplayOutcome> {
  const f = loadFixture(file);
  const { policy } = await resolvePolicy(f.policyFile ?? f.policy);
  const rec = new TraceRecorder();
  const { violation } = runCommands(policy, f.config, f.commands, { recorder: rec, promise: f.promise.filter(isInvariant) });
  const trace = renderText(rec.events, f.config.cpus);
  const reproduced = violation !== null && violation.invariant === f.expect.invariant;
  return { file, reproduced, trace, expectedVerdict: f.expect.verdict, stale: f.specHash !== specHash(f.policyFile ? [f.policyFile] : []) };
}

export async function replay(files: string[], io: Io): Promise<number> {
  if (!files.length) throw new UsageError('replay: give fixture files (counterexamples/**.json)');
  let any = false;
  for (const file of files) {
    const r = await replayFixture(file);
    if (r.stale) io.err(`${file}: stale fixture (spec/model changed since it was saved); replaying anyway\n`);
    io.out(r.trace);
    io.out(r.reproduced ? `${file}: violation reproduces\n` : `${file}: no longer reproduces\n`);
    any ||= r.reproduced;
    void sha256;
  }
  return any ? 1 : 0;
}
