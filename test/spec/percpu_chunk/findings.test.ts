// The code of seed 003 as written: each known finding of percpu-chunk,
// driven through the policy's hooks (the faithful policy is the fixture),
// and the policy holding where the findings are not reached.
import { populateUndoingOwnPages } from '../../../spec/policies/control-percpu-chunk-fixed.ts';
import { describe, expect, it } from 'vitest';
import { Violation } from '../../../spec/kernel/types.ts';
import { explore } from '../../../harness/explore.ts';
import { classify, findingsOf } from '../../../harness/findings.ts';
import { CONFIGS } from '../../../harness/config.ts';
import { percpuChunk, percpuChunkPolicy } from '../../../spec/policies/percpu-chunk.ts';
import { failNthPage, rig, used } from './helpers.ts';

const violation = (f: () => void): Violation => {
  try {
    f();
  } catch (e) {
    if (e instanceof Violation) return e;
    throw e;
  }
  throw new Error('no violation');
};

describe('percpu-chunk: known findings of the code as written', () => {
  it('PcpuLiveAreaPopulated: a failed populate frees the static area\'s page (pcpu_populate_chunk error path)', () => {
    const r = rig();
    r.s.p.k.slab.armed.page = 1;
    // bytes 40..72: page 1 is the static area's (bootmem, occupied), page 2 fails on cpu0
    expect(r.alloc(33, 4)).toBeNull();
    expect(r.audit()).toEqual([expect.stringMatching(/^PcpuLiveAreaPopulated: the kernel's static percpu area: page 1 of chunk_static/)]);
  });

  it('PcpuLiveAreaPopulated: ... and the page under another live area', () => {
    const r = rig();
    const a = r.alloc(8, 32)!; // 64..71: page 2
    failNthPage(r.s.p.k, 2); // the next area's page 3 fails on cpu1
    expect(r.alloc(32, 1)).toBeNull(); // 72..103: pages 2 (occupied) and 3
    expect(r.audit()).toEqual([expect.stringMatching(new RegExp(`^PcpuLiveAreaPopulated: live ${a.name}: page 2 of chunk_static`))]);
  });

  // PcpuLiveAreaMapped (issue 21's mutation run: a populate that ignores
  // pcpu_map()'s failure returns pages nobody can reach)
  it('PcpuLiveAreaMapped: a live area on a populated page that is not mapped breaks it; mapped, it holds', () => {
    const r = rig();
    const a = r.alloc(8, 32)!; // 64..71: page 2
    expect(r.audit()).toEqual([]);
    const c = r.s.p.static!;
    expect(c.mapped[2]).toBe(true);
    c.mapped[2] = false; // what pcpu_populate_chunk() ignoring its final pcpu_map() error leaves
    expect(r.audit()).toEqual([expect.stringMatching(new RegExp(`^PcpuLiveAreaMapped: live ${a.name}: page 2 of chunk_static .* is populated but not mapped`))]);
  });

  it('PcpuSlotWalk: the -ENOSPC relocation moves the chunk __alloc_percpu() is walking onto pcpu_slot[0]', () => {
    const r = rig();
    const [, a2, , a4, , a6] = [8, 200, 8, 2, 8, 3, 243].map((n) => r.alloc(n, 1)!);
    for (const o of [a2!, a4!, a6!]) r.free(o);
    r.alloc(200, 1); // a hit before the last entry: contig_hint stays 200 over free entries of 2 and 3
    const st = r.s.p.static!;
    expect([used(st), st.contig_hint, st.free_size]).toEqual([[-40, -8, -200, -8, 2, -8, 3, -243], 200, 5]);
    const v = violation(() => r.alloc(4, 1));
    expect(v.invariant).toBe('PcpuSlotWalk');
    expect(v.detail).toMatch(/pcpu_slot\[1\] .* reached pcpu_slot\[0\]/);
    // the finding's test (no exploration reaches it): its signature matches
    expect(classify(v, findingsOf(percpuChunk))?.name).toBe('slot-walk-follows-relocated-chunk');
  });

  it('PcpuChunkInSlot: a head merged into the block before changes free_size, then pcpu_split_block() fails: no relocate', () => {
    const r = rig();
    const a = r.alloc(3, 1)!;
    for (const n of [1, 100, 100, 10, 4]) r.alloc(n, 1);
    r.free(a); // [-40, 3, -1, -100, -100, -10, -4, 254]: free_size 257, map full (8 of 8)
    r.s.p.k.slab.armed.kmalloc = 1;
    expect(r.alloc(4, 4)).toBeNull(); // head 2 joins the -4 before it; growing the map fails
    const st = r.s.p.static!;
    expect(st.free_size).toBe(255);
    expect(r.audit()).toEqual([expect.stringMatching(/^PcpuChunkInSlot: chunk_static \(free_size 255, contig_hint 254\) is on pcpu_slot\[5\], pcpu_chunk_slot\(\) says 4/)]);
  });

  it('declares exactly those invariants as findings', () => {
    expect(percpuChunk.findings!.known.map((f) => `${f.invariant}: ${f.name}`)).toEqual([
      'PcpuLiveAreaPopulated: populate-error-frees-live-pages',
      'NoLeakAtTeardown: static-page-repopulated-never-freed',
      'PcpuSlotWalk: slot-walk-follows-relocated-chunk',
      'PcpuChunkInSlot: head-merge-then-split-fails',
    ]);
  });
});

describe('percpu-chunk under exploration (fixed seeds)', () => {
  it('holds with kmalloc/vmalloc faults (no page faults): every invariant, map growth and chunk kills reached', () => {
    const r = explore({ ...percpuChunk, faults: ['kmalloc'] }, CONFIGS.fixed!, { seed: 42, runs: 1500 });
    expect(r.counterexample).toBeNull();
    expect(r.known.map((k) => k.invariant)).not.toContain('PcpuLiveAreaPopulated');
    for (const s of ['pcpu-map-grow', 'pcpu-chunk-created', 'pcpu-kill-free-chunk', 'pcpu-head-merge-prev-alloc', 'pcpu-tail-kept', 'pcpu-split', 'pcpu-hint-partial-scan', 'pcpu-free-merge-prev', 'pcpu-free-merge-next', 'pcpu-mutex-contended', 'pcpu-static-map-attached']) {
      expect(r.situations.get(s) ?? 0, s).toBeGreaterThan(0);
    }
  });

  it('with page faults finds the populate error path (a known finding) within a few commands', () => {
    // seeds 2..4 (seed 42's first hit, since the handoff command joined
    // generation, is a 25-command run that no single removal keeps)
    // (page and kmalloc faults, as generated before pcpu_map() could fail:
    // the seeds' runs are those)
    for (const seed of [2, 3, 4]) {
      const r = explore({ ...percpuChunk, faults: ['page', 'kmalloc'] }, CONFIGS.fixed!, { seed, runs: 500 });
      const k = r.known.find((c) => c.invariant === 'PcpuLiveAreaPopulated');
      expect(r.counterexample).toBeNull();
      expect(k, `seed ${seed}`).toBeDefined();
      expect(k!.commands.length, `seed ${seed}`).toBeLessThanOrEqual(6);
    }
  });

  it('with an error path that frees only the pages this call allocated, page faults find nothing else', () => {
    const onlyOwnPages = percpuChunkPolicy({
      name: 'percpu-chunk/populate-frees-own-pages',
      summary: 'test only: pcpu_populate_chunk() undoing just its own allocations',
      ops: {
        // fix 1 of control/percpu-chunk-fixed alone
        populate: populateUndoingOwnPages,
      },
    });
    const r = explore(onlyOwnPages, CONFIGS.fixed!, { seed: 42, runs: 1500 });
    expect(r.counterexample).toBeNull();
    expect(r.known.map((c) => c.invariant)).not.toContain('PcpuLiveAreaPopulated');
    expect(r.situations.get('pcpu-populate-fails-on-shared-page') ?? 0).toBeGreaterThan(0);
  });
});
