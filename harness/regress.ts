// `check` replays each policy's saved counterexamples before it explores
// (regression first, as proptest and Hypothesis do): a fixture that still
// violates an invariant the policy does not declare as a known finding
// fails the check, whatever the exploration finds.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { isInvariant } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Io } from './check.ts';
import { runCommands } from './explore.ts';
import { parseFixture, policyDir } from './fixture.ts';
import { knownFindings } from './shrink.ts';
import { replayCommand, shownPath } from './paths.ts';
import { faultKinds } from './sim.ts';
import { asPolicyError } from './watch.ts';

export interface Regression {
  policy: string;
  fixture: string;
  invariant: string;
  config: string;
  message: string;
  replay: string;
}

/** The fixture files saved for each policy (whatever they hold). */
export function savedFixtures(policies: readonly { policy: Policy<unknown> }[], fixturesDir: string): { file: string; policy: string }[] {
  return policies.flatMap(({ policy }) => {
    const dir = join(fixturesDir, policyDir(policy.name));
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({ file: join(dir, f), policy: policy.name }));
  });
}

/** Replay the fixtures saved for each policy under fixturesDir/<policy>/;
 *  print one line per policy that has any; return those that still fail. */
export function replaySaved(
  policies: readonly { policy: Policy<unknown>; file?: string }[],
  fixturesDir: string,
  io: Io,
): Regression[] {
  const failed: Regression[] = [];
  for (const { policy, file } of policies) {
    const dir = join(fixturesDir, policyDir(policy.name));
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    let replayed = 0;
    let still = 0;
    let known = 0;
    const skipped: string[] = [];
    for (const f of files) {
      const path = join(dir, f);
      let fx;
      try {
        fx = parseFixture(readFileSync(path, 'utf8'), shownPath(path));
      } catch (e) {
        skipped.push(`${shownPath(path)} (${(e as Error).message})`);
        continue;
      }
      // another policy of the same name (a file elsewhere): not ours
      if (fx.policy !== policy.name) continue;
      if (file && fx.policyFile && resolve(dirname(path), fx.policyFile) !== resolve(file)) continue;
      const kinds = faultKinds(policy, fx.config);
      const bad = fx.commands.find((c) => c.t === 'fault' && !kinds.includes(c.kind));
      if (bad && bad.t === 'fault') {
        skipped.push(`${shownPath(path)} (fault '${bad.kind}' is outside the configuration)`);
        continue;
      }
      replayed++;
      let v;
      try {
        const r = runCommands(policy, fx.config, fx.commands, { promise: fx.promise.filter(isInvariant) });
        // a known observation is noted and the run goes on, but it still
        // happened: the fixture still shows it
        v = r.violation ?? r.sim?.tolerated.find((t) => t.v.invariant === fx.expect.invariant)?.v ?? null;
      } catch (e) {
        throw asPolicyError(policy, e);
      }
      if (!v) continue;
      still++;
      if (knownFindings(policy, fx.config.name).includes(v.invariant)) {
        known++;
        continue;
      }
      failed.push({ policy: policy.name, fixture: shownPath(path), invariant: v.invariant, config: fx.config.name, message: v.detail, replay: replayCommand(path) });
    }
    if (!replayed && !skipped.length) continue;
    const fails = still - known;
    io.out(
      `${policy.name}: replayed ${replayed} saved counterexample(s) first (${shownPath(dir)}/): ` +
        (still ? `${still} still violate${known ? ` (${known} known finding${known > 1 ? 's' : ''})` : ''}` : 'none violates any more') +
        (fails ? ` — FAILED: ${fails} regression(s)` : '') +
        '\n',
    );
    for (const r of failed.filter((x) => x.policy === policy.name)) io.out(`  ✗ ${r.invariant} [${r.config}] ${r.fixture}\n    replay: ${r.replay}\n`);
    for (const s of skipped) io.err(`${policy.name}: not replayed: ${s}\n`);
  }
  return failed;
}
