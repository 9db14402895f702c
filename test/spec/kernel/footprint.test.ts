// The footprint audit (issue 19): each step's event names what it read and
// wrote; a write outside that footprint fails. Families whose every shared
// field sits behind a primitive or a fields.ts accessor declare their
// footprints exact and are audited here; the others stay coarse (every
// step counts as touching everything: sound, only coarser).
import { describe, expect, it } from 'vitest';
import { auditFootprints } from '../../../harness/footprint.ts';
import { CONFIGS } from '../../../harness/config.ts';
import { Sim } from '../../../harness/sim.ts';
import { digestLists } from '../../../bench/trace-digest.ts';
import { POLICIES, findPolicy } from '../../../spec/policies/index.ts';
import { definePolicy, type Policy } from '../../../spec/policies/policy.ts';
import { conflict, EVERYTHING, isCoarse, names, type Event } from '../../../spec/kernel/events.ts';
import { fire } from '../../../spec/kernel/sched.ts';
import { Violation } from '../../../spec/kernel/types.ts';
import { bpfMa } from '../../../spec/policies/bpf-ma.ts';

const fixed = CONFIGS.fixed!;
const exact = POLICIES.filter((p) => p.footprints === 'exact');
const coarse = POLICIES.filter((p) => p.footprints !== 'exact' && !p.bug && !p.control && !p.name.startsWith('deep/'));

describe('footprint audit: families that declare their footprints exact', () => {
  it('the exact families are memalloc.c (seed 004), upstream, the RFC flavours (seed 001); the others stay coarse', () => {
    expect(exact.filter((p) => !p.bug && !p.control && !p.name.startsWith('deep/')).map((p) => p.name)).toEqual(['bpf-ma', 'bpf-ma-upstream', 'reuse-after-rcu-gp', 'free-after-rcu-gp']);
    expect(coarse.map((p) => p.name).sort()).toEqual(['bpf-ma-after-call-rcu', 'bpf-ma-on-percpu-chunk', 'kmalloc-call-rcu', 'kmalloc-nolock', 'percpu-chunk', 'percpu-on-demand', 'slub-pca', 'slub-sheaves']);
  });

  for (const p of exact) {
    // the designs in every configuration; a variant in its own
    const design = !p.bug && !p.control && !p.name.startsWith('deep/');
    const cfgs = design ? ['fixed', 'buckets', 'percpu', 'rt'] : [p.bug?.config ?? 'fixed'];
    it(`${p.name}: no step writes outside its footprint (${cfgs.join(', ')})`, () => {
      for (const c of cfgs) {
        const cfg = CONFIGS[c]!;
        const r = auditFootprints(p, cfg, digestLists(p, cfg, design ? 3 : 2));
        const why = r.failures.map((f) => `${f.event.op} in ${f.event.fns.join('>')} wrote ${f.unnamed.join(', ')}`);
        expect(why, `${p.name} [${c}]`).toEqual([]);
        expect(r.steps).toBeGreaterThan(20);
        // only waits that name no condition (a timed sleep) stay coarse
        expect(r.coarse).toBeLessThan(r.steps / 50);
      }
    });
  }

  it('must fail: a design that writes a plain field outside any accessor yet declares exact is caught', () => {
    const leaky = definePolicy<{ n: number; s: unknown }>({
      ...(bpfMa as unknown as Policy<{ n: number; s: unknown }>),
      name: 'test/plain-write',
      init: (k, o) => ({ n: 0, s: bpfMa.init(k, o) }),
      *alloc(x, s, size) {
        s.n++; // a plain counter of the design's own, no accessor
        yield 'n++';
        return yield* bpfMa.alloc(x, s.s as never, size);
      },
      free: (x, s, o) => bpfMa.free(x, s.s as never, o),
      destroy: (x, s) => bpfMa.destroy(x, s.s as never),
      footprints: 'exact',
    });
    const r = auditFootprints(leaky as Policy<unknown>, fixed, [[{ t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 }]]);
    expect(r.failing).toBeGreaterThan(0);
    expect(r.failures[0]!.unnamed).toContain('(state outside any owner)');
    // the same design left coarse passes: every step touches everything
    const r2 = auditFootprints({ ...leaky, footprints: 'coarse' } as Policy<unknown>, fixed, [[{ t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 }]]);
    expect(r2.failing).toBe(0);
    expect(r2.coarse).toBe(r2.steps);
  });
});

describe('coarse families: every step counts as touching everything', () => {
  for (const p of coarse) {
    it(`${p.name}`, () => {
      const cfg = p.name === 'bpf-ma-on-percpu-chunk' ? CONFIGS.percpu! : fixed;
      const r = auditFootprints(p, cfg, digestLists(p, cfg, 2));
      expect(r.steps).toBeGreaterThan(0);
      expect(r.coarse).toBe(r.steps);
      expect(r.failing).toBe(0);
    });
  }
});

/** The events of one command on a fresh run of bpf-ma. */
function eventsOf(sim: Sim, c: Parameters<Sim['exec']>[0]): Event[] {
  const rec: Event[] = [];
  sim.k.record = rec;
  sim.exec(c);
  sim.k.record = null;
  return rec;
}

describe('events', () => {
  it('a step names its primitive, target and footprint; labels ride beside it', () => {
    const sim = new Sim(bpfMa as Policy<unknown>, fixed);
    sim.k.quiet = false;
    const ev = eventsOf(sim, { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });
    const inc = ev.find((e) => e.op === 'local_inc_return')!;
    expect(inc.fns).toEqual(['bpf_mem_cache_alloc', 'unit_alloc']);
    expect(inc.target?.name).toBe('c[cpu0].active');
    // (the program's rcu_read_lock() is part of its first step)
    expect(names(inc.writes)).toEqual(['cpu0.rcu_readers', 'c[cpu0].active']);
    expect(inc.label).toBe('local_inc_return(&active) = 1');
    const pop = ev.find((e) => e.op === '__llist_del_first' && e.act === 'taken off list')!;
    expect(pop.obj?.name).toMatch(/^obj\d+$/);
    expect(names(pop.reads)).toContain('c[cpu0].free_llist');
    expect(ev.at(-1)!.op).toBe('return');
  });

  it('steps on different CPUs\' caches do not conflict; the same list does; a coarse step conflicts with all', () => {
    const sim = new Sim(bpfMa as Policy<unknown>, fixed);
    const a = eventsOf(sim, { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });
    const b = eventsOf(sim, { t: 'prog', cpu: 1, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });
    const pop = (es: Event[]) => es.find((e) => e.op === '__llist_del_first' && e.act === 'taken off list')!;
    const incs = (es: Event[]) => es.find((e) => e.op === 'local_inc_return')!;
    expect(conflict(pop(a), pop(b))).toBe(false);
    expect(conflict(incs(a), incs(b))).toBe(false);
    // head->first = next: the same list, written
    expect(conflict(pop(a), a.find((e) => e.op === '__llist_del_first' && e.writes.length > 0)!)).toBe(true);
    expect(conflict(pop(a), { reads: [EVERYTHING], writes: [EVERYTHING] })).toBe(true);
  });

  it('fire() returns one event per step it took, none while nobody records', () => {
    const sim = new Sim(bpfMa as Policy<unknown>, fixed);
    const k = sim.k;
    sim.exec({ t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 2 });
    const before = k.steps;
    k.record = [];
    const ev = fire(k, { kind: 'step', cpu: 0 }, 0);
    expect(ev.length).toBe(k.steps - before);
    expect(ev.every((e) => e.ctx === 'prog0' || e.ctx.startsWith('irq_work'))).toBe(true);
    k.record = null;
    sim.exec({ t: 'prog', cpu: 1, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });
    expect(fire(k, { kind: 'step', cpu: 1 }, 0)).toEqual([]);
  });

  it('a design that does not declare its footprints is coarse (user policies by default)', () => {
    const p = findPolicy('slub-pca')!;
    const sim = new Sim(p, fixed);
    const ev = eventsOf(sim, { t: 'prog', cpu: 0, op: 'alloc', arg: 0, count: 1, sleepable: false, steps: 0 });
    expect(ev.length).toBeGreaterThan(0);
    expect(ev.every(isCoarse)).toBe(true);
    void Violation;
  });
});

// Every field of a modelled kernel structure is read through fields.ts
// (issue 21): a read of any field of a freed cache, bucket or chunk is
// NoUseAfterFree, and part of the step's footprint. A structure (an owner:
// `freed` and `name`) of an exact family may hold primitives (lists,
// counters, locks, works: they check their own accesses), pointers to other
// structures, and private `_fields` behind accessors; a plain number,
// boolean or string would be read unseen.
describe('field audit: no plain field of an exact family\'s structures', () => {
  const OBJ = Symbol.for('allocspec.Obj');
  /** `owner.field` for each plain field of an owner reachable from v */
  function plainFields(v: unknown, seen = new Set<object>(), out: string[] = []): string[] {
    if (typeof v !== 'object' || v === null || seen.has(v)) return out;
    const o = v as Record<string | symbol, unknown>;
    if (o[OBJ] === true || 'cpus' in o || 'stack' in o) return out;
    seen.add(v);
    const owner = typeof o.freed === 'boolean' && typeof o.name === 'string';
    for (const f of Object.keys(o)) {
      const x = o[f];
      if (owner && f !== 'name' && f !== 'freed' && !f.startsWith('_') && (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'string')) out.push(`${o.name as string}.${f}`);
      if (typeof x === 'object') plainFields(x, seen, out);
    }
    if (Array.isArray(v)) for (const e of v) plainFields(e, seen, out);
    return out;
  }

  for (const p of exact.filter((q) => !q.bug && !q.control)) {
    it(`${p.name}: every field of its caches and allocator is read through an accessor`, () => {
      for (const c of ['fixed', 'buckets', 'percpu']) {
        const sim = new Sim(p, CONFIGS[c]!);
        expect([...new Set(plainFields(sim.state))], `${p.name} [${c}]`).toEqual([]);
      }
    });
  }

  it('must fail: a cache with a plain field (unit_size before issue 21) is caught', () => {
    const sim = new Sim(bpfMa, fixed);
    const st = sim.state as { cache: { caches: Record<string, unknown>[] } };
    st.cache.caches[0]!.unit_size_plain = 8192;
    expect(plainFields(sim.state)).toContain('c[cpu0].unit_size_plain');
  });
});
