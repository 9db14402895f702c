// The canonical encoding of a run's whole state, for the exhaustive
// mode's pruning: two runs with the same key behave the same from here on.
// It holds every registered list (object ids in order), every counter, the
// slab (live count, each size's free pool in order, armed faults, live
// structures, percpu bytes), every object's link and size, who owns what,
// grace periods and callbacks, pending and claimed irq_work and works, and
// per CPU each context with its level, kernel function stack, wait, RCU
// nesting, locks, and the labels of every step it took (a label shows the
// values its step read, so the context's local variables follow from
// them). Context numbers are left out: they only name contexts.
// Not covered: state a policy keeps outside registered holders, cells and
// structures (documented in README, "Exhaustive mode").
import type { Sim } from './sim.ts';

export function stateKey(sim: Sim): string {
  const k = sim.k;
  const parts: string[] = [`${sim.tearingDown ? 1 : 0}${sim.over ? 1 : 0}`];
  const ctxIndex = new Map<object, string>();
  for (const c of k.cpus) {
    let s = `c${c.id}${c.online ? '' : 'off'}${c.irqsOff ? 'I' : ''}`;
    c.stack.forEach((x, i) => {
      ctxIndex.set(x, `${c.id}.${i}`);
      s += `[${x.level}|${x.label.replace(/\d+$/, '')}|${x.fns.join('>')}|${x.waitWhat}|${x.sleeping ? 1 : 0}|${x.rcuDepth},${x.traceDepth},${x.rcuSection}|${x.spinlocks},${x.preemptCount}|${x.refs.map((o) => o.id).join(',')}|${(x.history ?? []).join(';')}]`;
    });
    parts.push(s);
  }
  for (const h of k.holders) {
    let s = `${h.name}:`;
    for (let o = h.head(), n = 0; o && n < 4096; o = o.next, n++) s += `${o.id},`;
    parts.push(s);
  }
  parts.push(k.cells.map((c) => c.v).join(','));
  const slab = k.slab;
  let objs = '';
  for (const o of slab.all) objs += `${o.id}${o.state === 'slab' ? 's' : 'l'}${o.size}>${o.next ? o.next.id : '-'}/${o.pptrBytes};`;
  parts.push(objs);
  parts.push(`slab${slab.live}|${slab.percpuBytes}|${Object.values(slab.armed).join(',')}|${[...slab.structs].map((s) => `${s.name}${s.freed ? 'F' : ''}`).join(',')}`);
  parts.push(`pools:${JSON.stringify(slab.freeLists())}`);
  parts.push(`own:${sim.model.owned.map((o) => o.id).join(',')}|${sim.model.reuseKey()}`);
  for (const f of [k.rcu.rcu, k.rcu.trace]) {
    const gp = f.gp ? `gp${f.gp.upTo - k.rcu.seq}:${f.gp.readers.map((r) => `${ctxIndex.get(r.x) ?? 'done'}@${r.section}`).join(',')}` : '';
    parts.push(`${f.flavour}:${f.completed}|${gp}|${f.pending.map((cb) => `${cb.name}@${cb.cpu}`).join(',')}|${f.ready.map((q) => q.map((cb) => cb.name).join(',')).join('/')}|${f.inflight.size}`);
  }
  parts.push(`iw:${[...k.pendingIrqWork].map((w) => `${w.name}@${w.cpu}`).join(',')}|${[...k.claimedIrqWork].map((w) => `${w.name}<${ctxIndex.get(w.claimedBy!) ?? '?'}`).join(',')}`);
  parts.push(`wk:${[...k.pendingWork].map((w) => `${w.name}@${w.cpu}${w.unbound ? 'u' : ''}`).join(',')}`);
  return parts.join('\n');
}
