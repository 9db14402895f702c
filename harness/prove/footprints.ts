// Footprints as the prove search compares them: the locations an action
// read and wrote (spec/kernel/events.ts Loc), interned to small ids that
// are stable across executions (a Loc is a new object each boot; its name
// is not), and the harness's own locations the events do not name.
import type { Loc } from '../../spec/kernel/events.ts';

/** A footprint as the search compares it: interned location ids. */
export interface Fp {
  r: number[];
  w: number[];
  /** reads everything (a judge that looks at the whole machine) */
  ra: boolean;
  /** writes everything (an unknown footprint, hotplug) */
  wa: boolean;
}

export function conflicts(a: Fp, b: Fp): boolean {
  if (a.wa || b.wa) return true;
  if ((a.ra && b.w.length) || (b.ra && a.w.length)) return true;
  const aw = a.w;
  const bw = b.w;
  for (let i = 0; i < aw.length; i++) {
    const l = aw[i]!;
    if (bw.includes(l) || b.r.includes(l)) return true;
  }
  for (let i = 0; i < bw.length; i++) if (a.r.includes(bw[i]!)) return true;
  return false;
}

/** One footprint marked, to test many others against it in time linear
 *  in theirs (no set membership scans on the hot path). */
export class Marks {
  private w = new Int32Array(1024);
  private r = new Int32Array(1024);
  private stamp = 0;
  private fp: Fp = { r: [], w: [], ra: false, wa: false };
  set(fp: Fp): void {
    this.stamp++;
    this.fp = fp;
    for (let i = 0; i < fp.w.length; i++) this.mark(this.grow(fp.w[i]!), fp.w[i]!, true);
    for (let i = 0; i < fp.r.length; i++) this.mark(this.grow(fp.r[i]!), fp.r[i]!, false);
  }
  private grow(l: number): number {
    if (l >= this.w.length) {
      const n = Math.max(l + 1, this.w.length * 2);
      const w = new Int32Array(n);
      w.set(this.w);
      const r = new Int32Array(n);
      r.set(this.r);
      this.w = w;
      this.r = r;
    }
    return l;
  }
  private mark(_: number, l: number, write: boolean): void {
    if (write) this.w[l] = this.stamp;
    else this.r[l] = this.stamp;
  }
  /** Does o conflict with the marked footprint? */
  conflicts(o: Fp): boolean {
    const f = this.fp;
    if (f.wa || o.wa) return true;
    if ((f.ra && o.w.length) || (o.ra && f.w.length)) return true;
    const s = this.stamp;
    const w = this.w;
    const r = this.r;
    const n = w.length;
    for (let i = 0; i < o.w.length; i++) {
      const l = o.w[i]!;
      if (l < n && (w[l] === s || r[l] === s)) return true;
    }
    for (let i = 0; i < o.r.length; i++) {
      const l = o.r[i]!;
      if (l < n && w[l] === s) return true;
    }
    return false;
  }
}

/** Location names interned to small ids, stable across executions (a Loc
 *  is a new object each boot; its name is not). */
export class Interner {
  private readonly ids = new Map<string, number>();
  private readonly cache = new WeakMap<Loc, number>();
  id(l: Loc): number {
    let n = this.cache.get(l);
    if (n === undefined) {
      const name = l.name;
      n = this.ids.get(name);
      if (n === undefined) this.ids.set(name, (n = this.ids.size));
      this.cache.set(l, n);
    }
    return n;
  }
  named(name: string): number {
    let n = this.ids.get(name);
    if (n === undefined) this.ids.set(name, (n = this.ids.size));
    return n;
  }
}

/** Harness state the events do not name: the map's elements (who owns
 *  what; a free releases, an alloc adds, a lookup reads), each CPU's stack
 *  (which context an action on it starts or steps), the programs (the
 *  teardown starts after the last one), the teardown itself. */
export const HARNESS_LOCS = {
  owned: 'harness:map elements',
  programs: 'harness:programs',
  teardown: 'harness:teardown',
  cpu: (c: number): string => `harness:cpu${c}`,
} as const;
