// Who touched what so far in an execution, for the race analysis of the
// prove search (harness/prove/search.ts): per location the last action
// that wrote it and the actions that read it since; per agent its last
// action. An action's immediate predecessors in happens-before are among
// the last writers of what it touches and the readers since of what it
// writes (every earlier access is ordered before those), so the analysis
// looks at those instead of at every earlier action. Rebuilt from the
// footprints of the replayed prefix at the start of each execution.
import type { Fp } from './footprints.ts';

export class Accesses {
  /** per location: the index + 1 of the last action that wrote it */
  private lastW = new Int32Array(1024);
  /** per location: the actions that read it since it was last written */
  private readonly reads: number[][] = [];
  private touched: number[] = [];
  /** index + 1 of the last action that wrote everything */
  private lastWa = 0;
  /** actions that read everything, since lastWa */
  private ras: number[] = [];
  /** per agent: index + 1 of its last action */
  readonly lastOf: Int32Array;

  constructor(agents: number) {
    this.lastOf = new Int32Array(agents);
  }

  reset(): void {
    for (const l of this.touched) {
      this.lastW[l] = 0;
      const r = this.reads[l];
      if (r) r.length = 0;
    }
    this.touched = [];
    this.lastWa = 0;
    this.ras = [];
    this.lastOf.fill(0);
  }

  private grow(l: number): void {
    if (l < this.lastW.length) return;
    const w = new Int32Array(Math.max(l + 1, this.lastW.length * 2));
    w.set(this.lastW);
    this.lastW = w;
  }

  /** Action i of agent a, with footprint fp, ran. */
  add(i: number, a: number, fp: Fp): void {
    this.lastOf[a] = i + 1;
    if (fp.wa) {
      this.lastWa = i + 1;
      this.ras = [];
      return;
    }
    if (fp.ra) this.ras.push(i);
    for (let k = 0; k < fp.r.length; k++) {
      const l = fp.r[k]!;
      this.grow(l);
      let r = this.reads[l];
      if (!r) this.reads[l] = r = [];
      if (r.length === 0 && this.lastW[l] === 0) this.touched.push(l);
      if (r[r.length - 1] !== i) r.push(i);
    }
    for (let k = 0; k < fp.w.length; k++) {
      const l = fp.w[k]!;
      this.grow(l);
      if (this.lastW[l] === 0 && !(this.reads[l]?.length)) this.touched.push(l);
      this.lastW[l] = i + 1;
      const r = this.reads[l];
      if (r) r.length = 0;
    }
  }

  /** The earlier actions that may be immediate predecessors of an action
   *  with footprint fp, in descending order without repeats; null when it
   *  reads or writes everything (every earlier action is a candidate). */
  candidates(fp: Fp, out: number[]): number[] | null {
    if (fp.wa || fp.ra) return null;
    out.length = 0;
    const wa = this.lastWa;
    if (wa > 0) out.push(wa - 1);
    const last = (l: number): void => {
      const w = l < this.lastW.length ? this.lastW[l]! : 0;
      if (w > wa) out.push(w - 1);
    };
    for (let k = 0; k < fp.r.length; k++) last(fp.r[k]!);
    for (let k = 0; k < fp.w.length; k++) {
      const l = fp.w[k]!;
      last(l);
      const r = this.reads[l];
      if (r) for (let m = 0; m < r.length; m++) if (r[m]! >= wa) out.push(r[m]!);
    }
    if (fp.w.length) for (const i of this.ras) out.push(i);
    out.sort((a, b) => b - a);
    let n = 0;
    for (let k = 0; k < out.length; k++) if (k === 0 || out[k] !== out[k - 1]) out[n++] = out[k]!;
    out.length = n;
    return out;
  }
}
