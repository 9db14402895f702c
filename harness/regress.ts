// One gate semantics, shared by `check` (which replays each policy's saved
// counterexamples before it explores, regression first, as proptest and
// Hypothesis do) and `replay --expect` (the CI gate, docs/ci.md): both
// judge a saved fixture with judgeFixture(), so they agree on every case.
//
//   - A counterexample found in a policy is a regression test: red while it
//     still violates, green once the policy is fixed. `replay --update`
//     records the fix (the fixture then states `holds`, and turns red if
//     the bug comes back).
//   - Must-fail examples keep "violates" as their expectation: a fixture of
//     a zoo variant (policy.bug), and one of a policy's declared known
//     findings (policy.findings, in that configuration). They are green
//     while they reproduce; a known finding's only while its violation
//     still matches the finding's signature (the fixture is the
//     signature's test: spec/policies/finding.ts).
//   - A fixture that states `holds` is green while no invariant breaks.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { isInvariant } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Io } from './io.ts';
import { runCommands } from './explore.ts';
import { parseFixture, policyDir, type Fixture } from './fixture.ts';
import { knownFindings, knownObservations } from './shrink.ts';
import { classify, findingsOf } from './findings.ts';
import { lastTouches } from './witness.ts';
import type { Violation } from '../spec/kernel/types.ts';
import { replayCommand, shownPath } from './paths.ts';
import { faultKinds } from './sim.ts';
import type { TraceRecorder } from './trace.ts';
import { asPolicyError } from './watch.ts';

/** What a saved fixture must do when it is replayed now. */
export type Expectation =
  | { verdict: 'violates'; invariant: string; why: 'zoo' | 'known' }
  | { verdict: 'holds'; why: 'recorded' }
  /** a counterexample found in a policy that claims to be correct */
  | { verdict: 'holds'; why: 'regression'; invariant: string };

export function expectation(policy: Policy<unknown>, fx: Pick<Fixture, 'expect' | 'config'>): Expectation {
  const inv = fx.expect.invariant;
  if (fx.expect.verdict === 'holds' || inv === null) return { verdict: 'holds', why: 'recorded' };
  if (policy.bug?.invariants.includes(inv as never)) return { verdict: 'violates', invariant: inv, why: 'zoo' };
  // a zoo variant keeps its base's known findings: a fixture of one is
  // that finding's (its signature must match), not the variant's bug
  if (knownFindings(policy, fx.config.name).includes(inv)) return { verdict: 'violates', invariant: inv, why: 'known' };
  if (policy.bug) return { verdict: 'violates', invariant: inv, why: 'zoo' };
  return { verdict: 'holds', why: 'regression', invariant: inv };
}

/** Run a fixture's commands: the invariant it breaks now, or null. The
 *  policy's known observations are noted, not thrown (the run goes on),
 *  except the one the fixture is about. */
export function fixtureRun(policy: Policy<unknown>, fx: Pick<Fixture, 'commands' | 'promise' | 'config'> & { expect?: Fixture['expect'] }, recorder?: TraceRecorder): ReturnType<typeof runCommands>['violation'] {
  const tolerate = knownObservations(policy);
  if (fx.expect?.invariant) tolerate.delete(fx.expect.invariant);
  try {
    return runCommands(policy, fx.config, fx.commands, { ...(recorder ? { recorder } : {}), promise: fx.promise.filter(isInvariant), tolerate }).violation;
  } catch (e) {
    throw asPolicyError(policy, e);
  }
}

/** The known finding whose signature a fixture's violation matches now
 *  (its name), or null: a new violation. */
export function fixtureFinding(policy: Policy<unknown>, fx: Pick<Fixture, 'commands' | 'promise' | 'config'> & { expect?: Fixture['expect'] }, v: Violation | null): string | null {
  if (!v) return null;
  const tolerate = knownObservations(policy);
  if (fx.expect?.invariant) tolerate.delete(fx.expect.invariant);
  const last = (): Violation['witness']['last'] => lastTouches(policy, fx.config, fx.commands, v, { promise: fx.promise.filter(isInvariant), tolerate });
  return classify(v, findingsOf(policy, fx.config.name), last)?.name ?? null;
}

export interface Judgement {
  /** green: the fixture ends as the gate expects */
  ok: boolean;
  expectation: Expectation;
  /** the invariant broken now, or null */
  got: string | null;
  /** one line (without the fixture's name): what happened against what was expected */
  text: string;
  /** a regression test whose bug is gone but whose fixture still says
   *  `violates`: `replay --update` records the fix */
  fixed: boolean;
}

export function judgeFixture(
  policy: Policy<unknown>,
  fx: Fixture,
  got: string | null,
  /** the known finding the violation matches now (fixtureFinding()) */
  finding: string | null = null,
): Judgement {
  const e = expectation(policy, fx);
  const j = (ok: boolean, text: string, fixed = false): Judgement => ({ ok, expectation: e, got, text, fixed });
  if (e.verdict === 'violates') {
    const kind = e.why === 'zoo' ? 'a must-fail example: a zoo variant' : `a known finding of ${policy.name}`;
    if (got === e.invariant && e.why === 'known') {
      const want = fx.expect.finding;
      if (finding === null) return j(false, `violates ${got}, but no known finding's signature matches it: a new violation (${policy.name}'s findings of ${got}: ${findingsOf(policy, fx.config.name).filter((k) => k.invariant === got).map((k) => k.name).join(', ')})`);
      if (want && finding !== want) return j(false, `violates ${got} as known finding ${finding}, but the fixture is ${want}'s example`);
      return j(true, `violation reproduces: ${got}, known finding ${finding} (its signature matches)`);
    }
    if (got === e.invariant) return j(true, `violation reproduces: ${got} (${kind})`);
    if (got === null) return j(false, `no longer reproduces: no invariant is violated (the fixture expects ${e.invariant}, ${kind})`);
    return j(false, `does not reproduce as saved: ${got} is violated instead of ${e.invariant}`);
  }
  if (e.why === 'regression') {
    if (got === null) return j(true, `fixed: ${e.invariant} no longer shows (a counterexample found in ${policy.name})`, true);
    return j(false, `still violates ${got} (a counterexample found in ${policy.name}: red until the policy is fixed)`);
  }
  return got === null ? j(true, 'holds, as the fixture expects') : j(false, `violates ${got}, but the fixture expects it to hold (a recorded fix came undone)`);
}

/** The command that records fixes (and refreshes stale fixtures) in `target`. */
export function updateCommand(target: string, more: readonly string[] = []): string {
  return `${[replayCommand(target), ...more.map(shownPath)].join(' ')} --expect --update`;
}

export interface Regression {
  policy: string;
  fixture: string;
  invariant: string;
  config: string;
  message: string;
  replay: string;
  /** the gate's line for it */
  text: string;
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
 *  print one line per policy that has any; return those the gate judges
 *  red (judgeFixture). */
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
    let mustFail = 0;
    let fixed = 0;
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
      const v = fixtureRun(policy, fx);
      const j = judgeFixture(policy, fx, v?.invariant ?? null, expectation(policy, fx).why === 'known' ? fixtureFinding(policy, fx, v) : null);
      if (v) still++;
      if (j.ok && v && j.expectation.verdict === 'violates') (j.expectation.why === 'known' ? known++ : mustFail++);
      if (j.fixed) fixed++;
      if (j.ok) continue;
      failed.push({
        policy: policy.name,
        fixture: shownPath(path),
        invariant: v?.invariant ?? fx.expect.invariant ?? 'holds',
        config: fx.config.name,
        message: v?.detail ?? j.text,
        replay: replayCommand(path),
        text: j.text,
      });
    }
    if (!replayed && !skipped.length) continue;
    const fails = failed.filter((x) => x.policy === policy.name).length;
    const notes = [known ? `${known} known finding${known > 1 ? 's' : ''}` : '', mustFail ? `${mustFail} must-fail` : ''].filter(Boolean).join(', ');
    io.out(
      `${policy.name}: replayed ${replayed} saved counterexample(s) first (${shownPath(dir)}/): ` +
        (still ? `${still} still violate${notes ? ` (${notes})` : ''}` : 'none violates any more') +
        (fails ? ` — FAILED: ${fails} regression(s)` : '') +
        (fixed ? `; ${fixed} fixed, record with: ${updateCommand(dir)}` : '') +
        '\n',
    );
    for (const r of failed.filter((x) => x.policy === policy.name)) io.out(`  ✗ ${r.fixture}: ${r.text}\n    replay: ${r.replay}\n`);
    for (const s of skipped) io.err(`${policy.name}: not replayed: ${s}\n`);
  }
  return failed;
}
