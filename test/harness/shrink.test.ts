// The one shrinker (harness/shrink.ts): a counterexample shrinks to a
// 1-minimal list that still breaks the same invariant; a known finding of
// the design excuses only what the variant's own bug is not about.
import { describe, expect, it } from 'vitest';
import { knownFindings, minimize, runCommands } from '../../harness/shrink.ts';
import { CONFIGS } from '../../harness/config.ts';
import { findPolicy } from '../../spec/policies/index.ts';
import type { Cmd } from '../../harness/commands.ts';

const fixed = CONFIGS.fixed!;

describe('minimize', () => {
  it('drops what the violation does not need and keeps the invariant', () => {
    const p = findPolicy('bug/unit-free-ignores-active')!;
    // the saved counterexample, padded with commands it does not need
    const padded: Cmd[] = [
      { t: 'quiesce' },
      { t: 'quiesce' },
      { t: 'quiesce' },
      { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 2 },
      { t: 'nmi', cpu: 0, op: 'free', arg: 0 },
    ];
    const v = runCommands(p, fixed, padded).violation;
    expect(v?.invariant).toBe('Conservation');
    const small = minimize(p, fixed, padded, 'Conservation');
    expect(small.length).toBeLessThan(padded.length);
    expect(runCommands(p, fixed, small).violation?.invariant).toBe('Conservation');
    // 1-minimal: dropping any one command loses the violation
    for (let i = 0; i < small.length; i++) {
      const w = runCommands(p, fixed, [...small.slice(0, i), ...small.slice(i + 1)]).violation;
      expect(w?.invariant, `without #${i}`).not.toBe('Conservation');
    }
  });

  it('a variant keeps its base\'s known findings except its own bug\'s invariants (unless it hides behind a finding)', () => {
    const base = findPolicy('percpu-chunk')!;
    const bug = findPolicy('bug/pcpu-kill-keeps-pages')!;
    // its invariant (NoLeakAtTeardown) is one of percpu-chunk's known findings'
    expect(knownFindings(base).length).toBeGreaterThan(0);
    expect(bug.bug!.behindFinding).toBeUndefined();
    expect(bug.bug!.invariants.some((i) => knownFindings(base).includes(i))).toBe(true);
    for (const inv of bug.bug!.invariants) expect(knownFindings(bug)).not.toContain(inv);
    // behindFinding: its invariant is a known finding's too, and only the
    // finding's signature tells its violation apart
    const behind = findPolicy('bug/drain-without-abort-reuse')!;
    expect(behind.bug!.behindFinding).toBe(true);
    for (const inv of behind.bug!.invariants) expect(knownFindings(behind)).toContain(inv);
  });
});
