// The model judges the engine's facts: each fact is one invariant's, the
// engine names none itself.
import { describe, expect, it } from 'vitest';
import { FACT_KINDS, report } from '../../spec/kernel/events.ts';
import { Violation } from '../../spec/kernel/types.ts';
import { INVARIANT_DEFS, invariantOf, type InvariantDef } from '../../model/invariants.ts';
import { WARN_ON } from '../../spec/kernel/bug.ts';
import { ctx, kernel } from '../helpers/boot.ts';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

describe('facts and their judges', () => {
  it('every fact the engine reports is judged by exactly one invariant', () => {
    for (const f of FACT_KINDS) {
      const by = Object.entries(INVARIANT_DEFS as Record<string, InvariantDef>).filter(([, d]) => d.facts?.includes(f));
      expect(by.length, f).toBe(1);
      expect(invariantOf(f)).toBe(by[0]![0]);
    }
  });

  it('a reported fact ends the run as its invariant, with the engine\'s words', () => {
    const e = (() => {
      try {
        report('teardown-touch', 'an irq_work ran on a freed cache');
      } catch (v) {
        return v;
      }
    })();
    expect(e).toBeInstanceOf(Violation);
    expect((e as Violation).invariant).toBe('TeardownBarriers');
    expect((e as Violation).detail).toBe('an irq_work ran on a freed cache');
  });

  it('must fail: a WARN_ON that fires is NoKernelWarn; one that does not fire is nothing', () => {
    const k = kernel();
    const x = ctx(k);
    expect(WARN_ON(x, false, 'WARN_ON(0)')).toBe(false);
    expect(() => WARN_ON(x, true, 'WARN_ON(cnt < 0)')).toThrow(/NoKernelWarn: WARN_ON\(cnt < 0\) fired/);
  });

  it('no Violation is constructed in spec/: the engine and the families report facts', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(join(import.meta.dirname, '../../spec'));
    const sites = files.filter((f) => /new Violation\(/.test(readFileSync(f, 'utf8')));
    expect(sites).toEqual([]);
  });
});
