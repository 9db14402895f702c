// A 32-bit fingerprint of the abstract-enough state after each command, to
// count distinct states seen. Context labels are left out (they only number
// contexts); what each context is doing is kept.
import type { Kernel } from '../spec/kernel/kernel.ts';
import type { AbstractAllocator } from '../model/allocator.ts';

const P = 16777619;
function mix(h: number, v: number): number {
  return Math.imul(h ^ v, P) >>> 0;
}
function mixStr(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

export function fingerprint(k: Kernel, model: AbstractAllocator): number {
  let h = 2166136261;
  for (const c of k.cpus) {
    h = mix(h, c.stack.length * 2 + (c.irqsOff ? 1 : 0));
    for (const x of c.stack) h = mixStr(mix(h, x.level.length), x.fn);
  }
  for (const hd of k.holders) {
    h = mix(h, 0xfeed);
    for (let o = hd.head(), n = 0; o && n < 512; o = o.next, n++) h = mix(h, o.id + 1);
  }
  for (const c of k.cells) h = mix(h, c.v + 7);
  for (const o of model.owned) h = mix(h, o.id + 1000);
  for (const s of [k.rcu.rcu, k.rcu.trace]) {
    h = mix(h, s.pending.length);
    h = mix(h, s.gp ? 1 : 0);
    for (const q of s.ready) h = mix(h, q.length);
  }
  h = mix(h, k.pendingIrqWork.size);
  h = mix(h, k.pendingWork.size);
  return h;
}
