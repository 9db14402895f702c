// The liveness of the 2014 percpu locking's atomic pool (spec/percpu_chunk/
// atomic.ts, balance.ts): a GFP_NOWAIT allocation that found no populated
// room sets pcpu_atomic_alloc_failed and queues pcpu_balance_workfn(); the
// next run of that work that reads the flag must populate pages, or, once
// everything ran, the pool must have room for the request again (frees may
// have made it), unless a fault was injected since (RefillProgress:
// memalloc's refill waits for that room). The failure itself is the pool being exhausted for atomic
// callers, which RefillProgress's own check counts as such (k.slab.exhausted).
import type { Audited, Kernel } from '../spec/kernel/kernel.ts';
import type { Witness } from '../spec/kernel/facts.ts';
import type { PcpuAtomic, PcpuPoolObserver } from '../spec/percpu_chunk/atomic.ts';
import { pcpuFitInArea } from '../spec/percpu_chunk/pop_only.ts';
import type { InvariantName } from './invariants.ts';

interface Failure {
  readonly size: number;
  readonly align: number;
  readonly seq: number;
  /** k.slab.faultsHit when it failed */
  readonly faults: number;
}

export class PcpuAtomicPoolModel implements Audited, PcpuPoolObserver {
  private clock = 0;
  /** failures no run of the balance work has answered yet */
  private waiting: Failure[] = [];
  /** the running balance work: when it last read the flag, pages it published */
  private readAt = -1;
  private published = 0;

  constructor(
    readonly k: Kernel,
    readonly a: PcpuAtomic,
  ) {}

  failed(size: number, align: number): void {
    this.waiting.push({ size, align, seq: ++this.clock, faults: this.k.slab.faultsHit });
  }
  flagRead(): void {
    this.readAt = ++this.clock;
  }
  populated(pages: number): void {
    this.published += pages;
  }
  /** the balance work returned: the failures before its last flag read are
   *  answered if it published pages (or excused by a fault since) */
  balanced(): void {
    if (this.published > 0) this.waiting = this.waiting.filter((f) => f.seq > this.readAt);
    this.readAt = -1;
    this.published = 0;
  }

  audit(): void {}

  /** Some chunk on a slot list has a free block whose populated pages fit
   *  the request (what pcpu_alloc_area(pop_only) would find). */
  private room(size: number, align: number): boolean {
    const p = this.a.p;
    for (const head of p.slot) {
      for (let pos = head.next; pos !== head && pos.chunk; pos = pos.next) {
        const c = pos.chunk;
        if (!c.map) continue;
        for (let i = 0, off = 0; i < c.map_used; off += Math.abs(c.map.ents[i++]!)) {
          const e = c.map.ents[i]!;
          if (e > 0 && pcpuFitInArea(this.a, c, off, e, size, align, true) >= 0) return true;
        }
      }
    }
    return false;
  }

  idle(fail: (invariant: InvariantName, detail: string, w?: Partial<Witness>) => void): void {
    const f = this.waiting.find((f) => f.faults === this.k.slab.faultsHit && !this.room(f.size, f.align));
    this.waiting = [];
    if (f) {
      fail('RefillProgress', `pcpu_alloc(${f.size}, GFP_NOWAIT) failed for want of populated pages, and after everything ran (pcpu_balance_workfn() included, no fault injected) no pages were populated for it and no populated room is free`, { subjects: ['pcpu_balance_work'] });
    }
  }
}
