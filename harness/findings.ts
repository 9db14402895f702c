// Known findings, named by what happened (spec/policies/finding.ts): which
// of a policy's findings apply in a configuration, and which one (if any)
// a violation is. A violation of a finding's invariant that no signature
// matches is a new violation. A signature that reads the last step that
// touched each object of the violation (Finding.last) gets it from a
// recorded replay of the run's commands (harness/witness.ts): exploring
// quietly, no step keeps its event.
import { OBSERVATIONS, type InvariantName } from '../model/invariants.ts';
import type { Witness } from '../spec/kernel/facts.ts';
import type { Violation } from '../spec/kernel/types.ts';
import type { Finding } from '../spec/policies/finding.ts';
import type { Policy } from '../spec/policies/policy.ts';

/** The policy's known findings in a configuration: what its source's code
 *  as written breaks. A zoo variant keeps its base's findings, except
 *  those of the invariants its own bug is about: those are never excused
 *  (unless it is a variant that hides behind a finding: bug.behindFinding,
 *  where the signatures alone must tell them apart). */
export function findingsOf(policy: Pick<Policy<unknown>, 'findings' | 'bug'>, config?: string): Finding[] {
  const f = policy.findings;
  // findings that only their configurations show are no excuse elsewhere
  if (!f || (config !== undefined && f.configs && !f.configs.includes(config))) return [];
  const own: readonly string[] = policy.bug && !policy.bug.behindFinding ? policy.bug.invariants : [];
  return f.known.filter((k) => !own.includes(k.invariant) && (config === undefined || !k.configs || k.configs.includes(config)));
}

/** The invariants some known finding of the policy breaks in config: only
 *  their violations are asked about a signature. */
export function knownInvariants(policy: Pick<Policy<unknown>, 'findings' | 'bug'>, config?: string): string[] {
  return [...new Set(findingsOf(policy, config).map((k) => k.invariant))];
}

/** The known invariants that are observations (OBSERVATIONS): a run notes
 *  a matching one and goes on. */
export function knownObservations(policy: Pick<Policy<unknown>, 'findings' | 'bug'>, known: readonly string[] = knownInvariants(policy)): Set<string> {
  return new Set(known.filter((i) => OBSERVATIONS.includes(i as InvariantName)));
}

/** The known finding v is, or null: the first finding of its invariant
 *  whose signature matches. `last` fills the witness's last touches when a
 *  candidate asks for them (lazily: only violations of its invariant). */
/** An observation is excused only where a known finding's signature
 *  matches it (an observation's witness needs no replay). */
export function excuser(policy: Pick<Policy<unknown>, 'findings' | 'bug'>, config: string): (v: Violation) => boolean {
  const findings = findingsOf(policy, config);
  return (v) => classify(v, findings) !== null;
}

export function classify(v: Violation, findings: readonly Finding[], last?: () => Witness['last']): Finding | null {
  const mine = findings.filter((k) => k.invariant === v.invariant);
  if (mine.length === 0) return null;
  let w: Witness = v.witness;
  if (mine.some((k) => k.last) && last && w.last.length === 0) w = { ...w, last: last() };
  return mine.find((k) => k.match(w)) ?? null;
}


/** What a known finding's example and its hits are kept by: its name (an
 *  example without one, from an older record, by its invariant). */
export function knownKey(c: { readonly finding?: string; readonly invariant: string }): string {
  return c.finding ?? c.invariant;
}
