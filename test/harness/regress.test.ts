// What the gate expects of a saved fixture (harness/regress.ts): a zoo
// variant's own bug is a must-fail example; a violation of a known finding
// the variant keeps from its base is that finding's, green only while the
// finding's signature matches.
import { describe, expect, it } from 'vitest';
import { CONFIGS } from '../../harness/config.ts';
import { expectation, judgeFixture } from '../../harness/regress.ts';
import type { Fixture } from '../../harness/fixture.ts';
import { findPolicy } from '../../spec/policies/index.ts';

const fixed = CONFIGS.fixed!;
const fx = (invariant: string): Fixture => ({ expect: { verdict: 'violates', invariant, message: '' }, config: fixed, commands: [], promise: [] }) as unknown as Fixture;

describe('expectation', () => {
  const zoo = findPolicy('bug/unit-free-ignores-active')!;
  it("a zoo variant's own invariant: a must-fail example", () => {
    expect(expectation(zoo, fx(zoo.bug!.invariants[0]!))).toMatchObject({ verdict: 'violates', why: 'zoo' });
  });
  it("its base's known finding (bpf-ma's stalled refill): that finding's, judged by signature", () => {
    expect(expectation(zoo, fx('NoAllocFailureWhileRefillStalled'))).toMatchObject({ verdict: 'violates', why: 'known' });
    const f = fx('NoAllocFailureWhileRefillStalled');
    expect(judgeFixture(zoo, f, 'NoAllocFailureWhileRefillStalled', 'refill-claimed-then-preempted').ok).toBe(true);
    expect(judgeFixture(zoo, f, 'NoAllocFailureWhileRefillStalled', null).ok).toBe(false);
  });
  it('any other violation of a zoo variant is still its must-fail example', () => {
    expect(expectation(zoo, fx('RcuSafety'))).toMatchObject({ verdict: 'violates', why: 'zoo' });
  });
  it('a design: a known finding, else a regression that must go', () => {
    const bpfMa = findPolicy('bpf-ma')!;
    expect(expectation(bpfMa, fx('NoAllocFailureWhileRefillStalled'))).toMatchObject({ why: 'known' });
    expect(expectation(bpfMa, fx('Conservation'))).toMatchObject({ verdict: 'holds', why: 'regression' });
  });
});
