// Known findings named by what happened (spec/policies/finding.ts): each
// finding's saved fixture is its signature's test (replayed, its violation
// matches that finding), and a near miss (the same invariant, one fact of
// the witness moved) does not. The zoo variants that hide behind a finding
// (bug.behindFinding, test/zoo/zoo.test.ts) are the near misses the search
// itself must tell apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify, findingsOf, knownInvariants } from '../../harness/findings.ts';
import { parseFixture } from '../../harness/fixture.ts';
import { fixtureFinding, fixtureRun } from '../../harness/regress.ts';
import { lastTouches } from '../../harness/witness.ts';
import { isInvariant } from '../../model/invariants.ts';
import type { Witness } from '../../spec/kernel/facts.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { findPolicy, POLICIES } from '../../spec/policies/index.ts';
import { REPO } from '../cli/tmp.ts';

/** The witness of a fixture's violation now, last touches filled. */
function witnessOf(file: string): { w: Witness; policy: string; config: string } {
  const fx = parseFixture(readFileSync(join(REPO, 'counterexamples', file), 'utf8'), file);
  const p = findPolicy(fx.policy)!;
  const v = fixtureRun(p, fx)!;
  const last = lastTouches(p, fx.config, fx.commands, v, { promise: fx.promise.filter(isInvariant) });
  return { w: { ...v.witness, last }, policy: fx.policy, config: fx.config.name };
}

/** Which finding of policy (in config) a witness of invariant is. */
function which(policy: string, config: string, invariant: string, w: Witness): string | null {
  const v = new Violation(invariant as never, 'test', w);
  return classify(v, findingsOf(findPolicy(policy)!, config))?.name ?? null;
}

// [fixture, the finding it tests, a near miss: the witness with one fact moved]
const CASES: [string, string, (w: Witness) => Witness][] = [
  // the task that claimed the refill was preempted elsewhere than in irq_work_raise()
  ['bpf-ma/NoAllocFailureWhileRefillStalled-56c1d626.json', 'refill-claimed-then-preempted', (w) => ({ ...w, with: w.with.map((p) => ({ ...p, fns: ['bpf_mem_cache_alloc', 'unit_alloc'] })) })],
  ['free-after-rcu-gp/NoAllocFailureWhileRefillStalled-f0ab020b.json', 'refill-claimed-then-preempted', (w) => ({ ...w, with: [] })],
  ['percpu-on-demand/NoAllocFailureWhileRefillStalled-a533a890.json', 'refill-claimed-then-preempted', (w) => ({ ...w, with: w.with.map((p) => ({ ...p, level: 'softirq' as const })) })],
  ['reuse-after-rcu-gp/NoAllocFailureWhileRefillStalled-f4827043.json', 'refill-claimed-then-preempted', (w) => ({ ...w, at: w.at && { ...w.at, touched: 'c[cpu1].free_llist' }, subjects: ['c[cpu1].free_llist'] })],
  // the lost object was last touched by a callback, not by the kworker's loop
  ['reuse-after-rcu-gp/Conservation-41275bb4.json', 'extra-nodes-dropped-by-kworker', (w) => ({ ...w, last: w.last.map((p) => ({ ...p, level: 'softirq' as const, fns: ['bpf_ma_reuse_cb', 'bpf_ma_add_to_reuse_ready_or_free'] })) })],
  ['reuse-after-rcu-gp/Conservation-54211235.json', 'extra-nodes-dropped-by-kworker', (w) => ({ ...w, last: w.last.map((p) => ({ ...p, fns: ['bpf_ma_prepare_reuse_work', 'bpf_ma_try_free_reuse_objs'] })) })],
  // the lock the NMI spins on is held by something else
  ['reuse-after-rcu-gp/NoDeadlock-a676a2ef.json', 'nmi-spins-on-reuse-lock-after-early-dec', (w) => ({ ...w, with: w.with.map((p) => ({ ...p, fns: ['drain_mem_cache'] })) })],
  ['percpu-chunk/PcpuChunkInSlot-86e17520.json', 'head-merge-then-split-fails', (w) => ({ ...w, data: { on: 3, want: 4 } })],
  ['percpu-chunk/PcpuChunkInSlot-f6d8e8a6.json', 'head-merge-then-split-fails', (w) => ({ ...w, data: { on: -1, want: 2 } })],
  // the page was last freed by pcpu_kill_chunk(), not by the populate error path
  ['percpu-chunk/PcpuLiveAreaPopulated-ecf6c6ad.json', 'populate-error-frees-live-pages', (w) => ({ ...w, last: w.last.map((p) => ({ ...p, fns: ['free_percpu', 'pcpu_kill_chunk', 'pcpu_depopulate_chunk'] })) })],
  ['percpu-chunk/NoLeakAtTeardown-264c1e22.json', 'static-page-repopulated-never-freed', (w) => ({ ...w, subjects: [...w.subjects, 'chunk1:cpu0:p0'] })],
  ['bpf-ma-on-percpu-chunk/NoSleepInAtomic-4baf4536.json', 'pcpu-mutex-in-refill-irq-work', (w) => ({ ...w, at: w.at && { ...w.at, fns: ['bpf_mem_refill', 'free_bulk', 'free_percpu'] } })],
  ['bpf-ma-on-percpu-chunk/NoAllocFailureWhileRefillStalled-fce880a4.json', 'refill-claimed-then-preempted', (w) => ({ ...w, with: [...w.with, ...w.with] })],
  ['bpf-ma-upstream/Conservation-8a068812.json', 'alloc-bulk-aba-on-waiting-for-gp-ttrace', (w) => ({ ...w, subjects: w.subjects.map((s) => s.replace('waiting_for_gp_ttrace', 'free_llist')) })],
];

describe('known findings, named by what happened', () => {
  it('every finding has a kebab-case name unique in its policy, a signature in words, and an invariant the policy checks', () => {
    for (const p of POLICIES.filter((q) => q.findings)) {
      const names = p.findings!.known.map((k) => k.name);
      expect(new Set(names).size, p.name).toBe(names.length);
      for (const k of p.findings!.known) {
        expect(k.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
        expect(k.signature.length, k.name).toBeGreaterThan(40);
      }
    }
  });

  it.each(CASES)('%s: its violation matches %s; a near miss does not', (file, finding, miss) => {
    const { w, policy, config } = witnessOf(file);
    const inv = file.split('/')[1]!.split('-')[0]!;
    expect(which(policy, config, inv, w)).toBe(finding);
    expect(which(policy, config, inv, miss(w))).toBeNull();
  });

  it('the saved fixture of a known finding is green only while its signature matches (the gate: replay --expect)', () => {
    const file = 'percpu-chunk/PcpuChunkInSlot-86e17520.json';
    const fx = parseFixture(readFileSync(join(REPO, 'counterexamples', file), 'utf8'), file);
    const p = findPolicy('percpu-chunk')!;
    expect(fixtureFinding(p, fx, fixtureRun(p, fx))).toBe('head-merge-then-split-fails');
    // the same run judged against a finding whose signature says "below": a new violation
    const below = { ...p, findings: { ...p.findings!, known: p.findings!.known.map((k) => (k.invariant === 'PcpuChunkInSlot' ? { ...k, match: (x: Witness) => (x.data.on as number) < (x.data.want as number) } : k)) } };
    expect(fixtureFinding(below, fx, fixtureRun(below, fx))).toBeNull();
  });

  it("a zoo variant's own invariants are never excused, unless it hides behind a finding on purpose", () => {
    expect(knownInvariants(findPolicy('bug/pcpu-alloc-skips-relocate')!)).not.toContain('PcpuChunkInSlot');
    expect(knownInvariants(findPolicy('bug/pcpu-free-skips-relocate')!)).toContain('PcpuChunkInSlot');
    expect(knownInvariants(findPolicy('bug/drain-without-abort-reuse')!)).toContain('NoLeakAtTeardown');
  });

  it('a finding limited to configurations is no excuse elsewhere', () => {
    const up = findPolicy('bpf-ma-upstream')!;
    expect(knownInvariants(up, 'rt')).toEqual(['Conservation']);
    expect(knownInvariants(up, 'fixed')).toEqual([]);
  });
});
