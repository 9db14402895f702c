// control/bpf-ma-on-percpu-chunk-fixed: seed 003 under the 2014 percpu
// locking (spec/percpu_chunk/atomic.ts, balance.ts). The atomic path
// serves only populated pages and the balance work brings more (explored:
// test/zoo/bpf-ma-on-percpu-chunk-fixed.test.ts).
import { describe, expect, it } from 'vitest';
import { runWork } from '../../../spec/kernel/workqueue.ts';
import { PcpuAtomic, pcpuNrEmptyPopPages, pcpuSetupFirstChunkPopulated, PCPU_EMPTY_POP_PAGES_HIGH } from '../../../spec/percpu_chunk/atomic.ts';
import { PAGE_GEOM } from '../../../spec/policies/bpf-ma-on-percpu-chunk.ts';
import { bpfMaOnPercpuChunkFixed, pcpuAtomicBackend, PCPU_FIXED_OPS } from '../../../spec/policies/control-bpf-ma-on-percpu-chunk-fixed.ts';
import { DEFAULT_CHECK, findPolicy } from '../../../spec/policies/index.ts';
import { makePcpu } from '../../../spec/policies/percpu-chunk.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

/** The percpu allocator of the control, alone: 8192-byte units on 2 CPUs. */
function boot(ops: Partial<PcpuAtomic['ops']> = {}) {
  const k = kernel();
  const s = makePcpu(k, PAGE_GEOM, PCPU_FIXED_OPS);
  const a = new PcpuAtomic(s.p);
  a.ops = { ...a.ops, ...ops };
  pcpuSetupFirstChunkPopulated(a);
  const be = pcpuAtomicBackend(k, s, a);
  const alloc = (cpu = 0, level: 'task' | 'hardirq' = 'hardirq') => drive(be.alloc(ctx(k, cpu, level), 8192, 8)).value as number | null;
  const balance = () => drive(runWork(ctx(k, 0, 'task', 'kworker'), a.balanceWork));
  return { k, s, a, be, alloc, balance };
}

describe('control/bpf-ma-on-percpu-chunk-fixed: the atomic path and the balance work', () => {
  it('is in the default check, as the control of bpf-ma-on-percpu-chunk', () => {
    expect(DEFAULT_CHECK).toContain(bpfMaOnPercpuChunkFixed);
    expect(findPolicy(bpfMaOnPercpuChunkFixed.control!.of)?.findings?.known.length).toBe(4);
    expect(bpfMaOnPercpuChunkFixed.findings).toBeUndefined();
  });

  it('GFP_NOWAIT in hardirq takes pcpu_lock only; the first chunk is populated at boot, and a failure queues the balance work', () => {
    const { a, alloc } = boot();
    const got: (number | null)[] = [];
    for (let i = 0; i < 6; i++) got.push(alloc());
    // 45,536 dynamic bytes of the first chunk: five 8192-byte units, all on populated pages
    expect(got.slice(0, 5).every((p) => typeof p === 'number')).toBe(true);
    expect(got[5]).toBeNull();
    expect(a.allocMutex.holder).toBeNull();
    expect(a.atomicAllocFailed).toBe(true);
    expect(a.balanceWork.pending).toBe(true);
    expect(a.p.chunks.size).toBe(1); // no chunk made from hardirq
  });

  it('the balance work makes a chunk and populates pages until PCPU_EMPTY_POP_PAGES_HIGH are free: the next refill gets a unit', () => {
    const { a, alloc, balance } = boot();
    for (let i = 0; i < 6; i++) alloc();
    balance();
    expect(a.atomicAllocFailed).toBe(false);
    expect(a.p.chunks.size).toBe(2);
    const c = [...a.p.chunks].find((c) => c !== a.p.static)!;
    // the first chunk's last page is free: after the new chunk (retry_pop,
    // the failure flag cleared) 3 pages make 4 free populated pages
    expect(a.nrPopulated(c)).toBe(PCPU_EMPTY_POP_PAGES_HIGH - 1);
    expect(pcpuNrEmptyPopPages(a)).toBe(PCPU_EMPTY_POP_PAGES_HIGH);
    expect(alloc()).toBe(c.addr); // offset 0 of the new chunk
    // free pages are counted, not room: pages 2 and 3 of the chunk are not
    // both populated, so the next unit waits for the work (upstream too)
    expect(alloc()).toBeNull();
    balance();
    expect(alloc()).toBe(c.addr + 8192);
    expect(alloc()).toBe(c.addr + 16384);
  });

  it('must-fail: a balance work that populates nothing leaves the refill failing', () => {
    const { a, alloc, balance } = boot({ populateRange: function* () { return false; } });
    for (let i = 0; i < 6; i++) alloc();
    balance();
    expect(alloc()).toBeNull();
    expect(a.balanceWork.pending).toBe(true);
  });

  it('free_percpu() under pcpu_lock (from softirq) leaves a second fully free chunk to the balance work, which frees its pages', () => {
    const { k, a, be, alloc, balance } = boot();
    const ptrs: number[] = [];
    for (let round = 0; round < 60 && a.p.chunks.size < 3; round++) {
      const p = alloc();
      if (p === null) balance();
      else ptrs.push(p);
    }
    const p = alloc() ?? (balance(), alloc());
    ptrs.push(p!);
    expect(a.p.chunks.size).toBe(3);
    for (const p of ptrs) drive(be.free(ctx(k, 1, 'softirq'), p));
    expect(a.allocMutex.holder).toBeNull();
    expect(a.p.chunks.size).toBe(3);
    expect(a.balanceWork.pending).toBe(true);
    balance();
    // one fully free chunk is spared, the other freed with its pages
    expect(a.p.chunks.size).toBe(2);
    expect(pcpuNrEmptyPopPages(a)).toBeGreaterThanOrEqual(PCPU_EMPTY_POP_PAGES_HIGH);
  });
});
