// The liveness of the 2014 percpu locking's atomic pool (spec/percpu_chunk/
// atomic.ts, balance.ts): a GFP_NOWAIT allocation that found no populated
// room sets pcpu_atomic_alloc_failed and queues pcpu_balance_workfn(); the
// next run of that work that reads the flag must populate pages, unless a
// fault was injected since (RefillProgress: memalloc's refill waits for
// those pages). The failure itself is the pool being exhausted for atomic
// callers, which RefillProgress's own check counts as such (k.slab.exhausted).
import type { Audited, Kernel } from '../spec/kernel/kernel.ts';
import type { Witness } from '../spec/kernel/facts.ts';
import type { PcpuPoolObserver } from '../spec/percpu_chunk/atomic.ts';
import type { InvariantName } from './invariants.ts';

interface Failure {
  readonly what: string;
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

  constructor(readonly k: Kernel) {}

  failed(what: string): void {
    this.waiting.push({ what, seq: ++this.clock, faults: this.k.slab.faultsHit });
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

  idle(fail: (invariant: InvariantName, detail: string, w?: Partial<Witness>) => void): void {
    const f = this.waiting.find((f) => f.faults === this.k.slab.faultsHit);
    this.waiting = [];
    if (f) {
      fail('RefillProgress', `${f.what} failed for want of populated pages, and after everything ran (pcpu_balance_workfn() included, no fault injected) no pages were populated for it`, { subjects: ['pcpu_balance_work'] });
    }
  }
}
