// Shared set-up for the spec/reuse tests: a reuse-flavour allocator with
// unit_size 8192 (low 1, high 3, batch 1, prefill 1), objects from slab,
// and small drivers for the kworker and the RCU callbacks.
import type { Context } from '../../../spec/kernel/context.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import type { LlistHead } from '../../../spec/kernel/llist.ts';
import type { Obj } from '../../../spec/kernel/obj.ts';
import type { Gen } from '../../../spec/kernel/types.ts';
import { runWork } from '../../../spec/kernel/workqueue.ts';
import type { BpfMemCache } from '../../../spec/memalloc/cache.ts';
import { reuseOf, type ReuseCache } from '../../../spec/reuse/cache.ts';
import type { ReuseMa } from '../../../spec/reuse/destroy.ts';
import { bpfMaReuseInit, type ReuseInitOptions } from '../../../spec/reuse/init.ts';
import { ctx, drive, kernel } from '../../helpers/boot.ts';

export interface Setup {
  k: Kernel;
  ma: ReuseMa;
  c: BpfMemCache;
  r: ReuseCache;
}

export function setup(o: ReuseInitOptions = {}): Setup {
  const k = kernel();
  const ma = bpfMaReuseInit(k, { size: 8184, percpu: false }, o);
  const c = ma.cache!.caches[0]!;
  return { k, ma, c, r: reuseOf(c) };
}

/** A live object straight from slab, as if a program had allocated it. */
export function obj(k: Kernel): Obj {
  return drive(k.slab.kmalloc(null, 8192)).value!;
}

/** Names along a list head, or along a chain from its first node. */
export function names(h: LlistHead | Obj | null): string[] {
  const out: string[] = [];
  let o: Obj | null = h === null ? null : 'field' in h ? h.first : h;
  for (; o && out.length < 100; o = o.next) out.push(o.name);
  return out;
}

export { runCallbacks } from '../../helpers/boot.ts';

/** Run the pending reuse_work of c in a kworker on cpu. */
export function kworker(k: Kernel, c: BpfMemCache, cpu = c.cpu): void {
  drive(runWork(ctx(k, cpu, 'task', 'kworker'), reuseOf(c).reuse_work));
}

/** Step g until x must wait (its waitFor is set and false); returns the
 *  steps taken. Throws if g finishes instead. */
export function untilWaiting(x: Context, g: Gen<unknown>): string[] {
  const steps: string[] = [];
  for (;;) {
    if (x.waitFor !== null && !x.waitFor()) return steps;
    const r = g.next();
    if (r.done) throw new Error(`finished without waiting after: ${steps.slice(-3).join(' | ')}`);
    steps.push(r.value);
  }
}

/** Step g to its end (it must not be waiting). */
export function finish<T>(x: Context, g: Gen<T>): T {
  for (;;) {
    if (x.waitFor !== null && !x.waitFor()) throw new Error(`still waiting: ${x.waitWhat}`);
    const r = g.next();
    if (r.done) return r.value;
  }
}
