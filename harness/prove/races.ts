// The race analysis of the prove search (harness/prove/search.ts): after
// each new action, its vector clock over the agents and its races, the
// earlier actions it conflicts with (by footprint), of other agents, with
// no happens-before between them but the direct one. Each race asks, at
// the earlier point, for an initial of the reversed order (source sets,
// Abdulla et al. POPL'14), unless one is asked for already; a race whose
// earlier action enabled the later one cannot be reversed and asks nothing.
import { Accesses } from './accesses.ts';
import { Marks, type Fp } from './footprints.ts';
import type { Cmd } from '../commands.ts';

/** One point of the search: the choice made there and what is left. */
export interface Node {
  enabled: number;
  backtrack: number;
  done: number;
  sleep: number;
  /** footprints of agents explored here or asleep here */
  fpOf: (Fp | undefined)[];
  chosen: number;
  cmd: Cmd | null;
  fp: Fp | null;
  vc: Int32Array;
  /** the CPU running before this node (-1: none), and after its action */
  cur: number;
  curAfter: number;
  pre: number;
  irq: number;
  /** expanded fully (above the split depth, or plain DFS) */
  full: boolean;
}

export function lowest(m: number): number {
  return m === 0 ? -1 : 31 - Math.clz32(m & -m);
}

export class Races {
  /** races whose reversal could not be placed exactly (all enabled asked) */
  fallbacks = 0;
  private readonly marks = new Marks();
  private readonly acc: Accesses;
  private readonly candBuf: number[] = [];
  // the initials of a race's reversed order
  private readonly firstInV: Int32Array;
  private initials = 0;
  /** the agents with an action in v so far */
  private inV = 0;

  constructor(
    private readonly nodes: Node[],
    private readonly A: number,
    /** ask for agent q at node i */
    private readonly ask: (i: number, q: number) => void,
  ) {
    this.acc = new Accesses(A);
    this.firstInV = new Int32Array(A);
  }

  /** A new execution: the prefix is replayed (replayed()) from boot. */
  reset(): void {
    this.acc.reset();
  }

  /** Node j of the prefix was replayed: what it touched (its clock is kept). */
  replayed(j: number, agent: number, fp: Fp): void {
    this.acc.add(j, agent, fp);
  }

  /** Is action k (agent ak, clock vk) an initial of v so far? It is when
   *  no earlier action of v happens before it. */
  private consider(k: number, vk: Int32Array, ak: number): void {
    let initial = true;
    for (let m = this.inV; m !== 0; m &= m - 1) {
      const a = 31 - Math.clz32(m & -m);
      if (vk[a]! >= this.firstInV[a]!) {
        initial = false;
        break;
      }
    }
    if (initial) this.initials |= 1 << ak;
    if ((this.inV & (1 << ak)) === 0) {
      this.inV |= 1 << ak;
      this.firstInV[ak] = k + 1;
    }
  }

  /** Vector clock and races of node j's action (its fp is set). */
  analyse(j: number): void {
    const nodes = this.nodes;
    const A = this.A;
    const acc = this.acc;
    const marks = this.marks;
    const nj = nodes[j]!;
    const p = nj.chosen;
    const fp = nj.fp!;
    const vc = nj.vc;
    vc.fill(0);
    // program order: the agent's previous action
    const prev = acc.lastOf[p]!;
    if (prev > 0) vc.set(nodes[prev - 1]!.vc);
    // the immediate predecessors are among the last writers and readers
    // of what it touches (all earlier actions when it touches everything)
    const cands = acc.candidates(fp, this.candBuf);
    if (cands === null) marks.set(fp);
    const n = cands === null ? j : cands.length;
    for (let c = 0; c < n; c++) {
      const i = cands === null ? j - 1 - c : cands[c]!;
      const ni = nodes[i]!;
      const q = ni.chosen;
      if (q === p || (cands === null && !marks.conflicts(ni.fp!))) continue;
      if (vc[q]! >= i + 1) continue; // already before j through a later action
      // a race: i -> j directly. Reverse it: some initial of
      // v = (actions after i not after it in happens-before) . j
      // (nothing to ask when every agent enabled there is asked already)
      if (!ni.full && (ni.enabled & ~ni.backtrack) !== 0) {
        this.firstInV.fill(0);
        this.initials = 0;
        this.inV = 0;
        // stop at the first initial already asked for at i
        for (let k = i + 1; k < j && (this.initials & ni.backtrack) === 0; k++) {
          const nk = nodes[k]!;
          if (nk.vc[q]! >= i + 1) continue; // after i: not in v
          this.consider(k, nk.vc, nk.chosen);
        }
        // j itself, with its clock so far (before this race's edge)
        if ((this.initials & ni.backtrack) === 0) this.consider(j, vc, p);
        if ((this.initials & ni.backtrack) === 0) {
          const q2 = this.initials & (1 << p) ? p : lowest(this.initials);
          if (ni.enabled & (1 << q2)) this.ask(i, q2);
          else if (!(nodes[i + 1]!.enabled & (1 << q2))) {
            // not enabled at i, and not enabled by i's action either: place
            // it conservatively (every agent enabled at i)
            this.fallbacks++;
            for (let a = 0; a < A; a++) if (ni.enabled & (1 << a)) this.ask(i, a);
          }
          // else: i's action enabled it; the order cannot be reversed
        }
      }
      // join i's clock
      const vi = ni.vc;
      for (let a = 0; a < A; a++) if (vi[a]! > vc[a]!) vc[a] = vi[a]!;
    }
    vc[p] = j + 1;
    acc.add(j, p, fp);
  }
}
