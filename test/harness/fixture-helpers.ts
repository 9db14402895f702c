// Shared by the replay, fixture and render tests: a capturing Io, and a
// fresh fixture of a zoo bug written to a temporary directory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureOf, type Io } from '../../harness/check.ts';
import { main } from '../../harness/cli.ts';
import { CONFIGS } from '../../harness/config.ts';
import { explore } from '../../harness/explore.ts';
import { writeFixture, type Fixture } from '../../harness/fixture.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import { tmpDirs } from '../cli/tmp.ts';

export interface Captured {
  code: number;
  out: string;
  err: string;
}

export async function run(argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), tty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** a temporary directory, removed when the test file ends */
export const tmp = tmpDirs('allocspec-test-');

/** Explore a built-in policy (seed 1, config fixed) and save its fixture. */
export function makeFixture(dir: string, policyName = 'bug/unit-free-ignores-active'): { file: string; fixture: Fixture; trace: string } {
  const policy = findPolicy(policyName)!;
  const cfg = { ...CONFIGS.fixed! };
  const r = explore(policy, cfg, { seed: 1, runs: 2000 });
  if (!r.counterexample) throw new Error(`${policyName}: no counterexample with seed 1`);
  const { fixture, trace } = fixtureOf(policy, undefined, cfg, [...(policy.promises ?? [])], r.counterexample);
  return { file: writeFixture(dir, fixture), fixture, trace };
}

/** A copy of a fixture file with its JSON changed by `edit`. */
export function variant(file: string, name: string, edit: (f: Record<string, any>) => void): string {
  const f = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  edit(f);
  const p = join(tmpdirOf(file), name);
  writeFileSync(p, JSON.stringify(f, null, 2));
  return p;
}

const tmpdirOf = (file: string): string => file.slice(0, file.lastIndexOf('/'));
