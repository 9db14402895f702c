// The harness's shape (issue 19): no import circle inside harness/ or
// across model/ and spec/ (scripts/circles.ts counts every import, types
// and dynamic ones too); no family's code imported by the harness; the spec
// counts no coverage situation itself; the run and the thread pool stay small.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { circles, forbidden } from '../../scripts/circles.ts';

const ROOT = join(import.meta.dirname, '../..');
const lines = (f: string): number => readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(ROOT, dir))) {
    const p = join(dir, n);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('harness conventions', () => {
  it('no import circle inside harness/ or across model/ and spec/', () => {
    expect(forbidden(circles())).toEqual([]);
  });

  it('the harness imports no family (families register what it needs)', () => {
    const families = /from '\.\.\/(\.\.\/)?spec\/(memalloc|upstream|reuse|slub|percpu|percpu_chunk)\//;
    const hits = tsFiles('harness').filter((f) => families.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(hits).toEqual([]);
  });

  it('the spec counts no situation itself: no `.saw(` in spec/ (situations are predicates over steps)', () => {
    const hits = tsFiles('spec').filter((f) => readFileSync(join(ROOT, f), 'utf8').includes('.saw('));
    expect(hits).toEqual([]);
  });

  it('the run is at most 250 lines, the thread pool at most 400', () => {
    expect(lines('harness/sim.ts')).toBeLessThanOrEqual(250);
    expect(lines('harness/workers.ts')).toBeLessThanOrEqual(400);
  });
});
