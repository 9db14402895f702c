// One transition of the exhaustive search, and the judging of a state it
// reaches, for the search in this thread (harness/exhaustive.ts) and for
// its worker threads (harness/exhaustive/worker.ts) alike.
import type { InvariantName } from '../../model/invariants.ts';
import { Violation } from '../../spec/kernel/types.ts';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Cmd } from '../commands.ts';
import type { CheckConfig } from '../config.ts';
import { knownFindings, knownObservations, runCommands } from '../shrink.ts';
import { classifier } from '../witness.ts';
import { Sim, genCtx } from '../sim.ts';
import { stateHash, stateKey } from '../statekey.ts';
import { exhaustiveAlphabet, expand, ranAsItself } from './letters.ts';
import { EVERY, execRecorded } from './sleep.ts';

/** States the finish memo holds at most before it starts over. */
const MEMO_MAX = 250_000;

export interface ExpanderOptions {
  promise?: readonly InvariantName[];
  batch?: boolean;
  /** key states by their canonical encoding itself instead of its
   *  128-bit hash (tests: no collision possible, far more memory) */
  exactKeys?: boolean;
  /** record each transition's footprint (the sleep sets need it) */
  footprints?: boolean;
}

/** A transition's outcome: the state it reached (the run is still live:
 *  judge() may finish it), or the violation it hit. */
export type Outcome = ({ sim: Sim; key: string; v?: undefined } | { v: Violation; sim?: undefined; key?: undefined }) & {
  /** what the last letter read and wrote (harness/exhaustive/sleep.ts),
   *  as text; EVERY when not recorded */
  fp: string;
};

/** What judging a new state found: the letters to run from it, and the
 *  violation finishing it hit, if any. */
export interface Judged {
  next: Uint8Array;
  v: Violation | null;
}

export class Expander {
  readonly cmds: Cmd[];
  /** the policy's documented findings (not the bug's own): noted, not fatal */
  readonly known: Set<string>;
  private readonly tolerate: Set<string>;
  private readonly promise: readonly InvariantName[];
  private readonly exactKeys: boolean;
  private readonly footprints: boolean;
  /** states from which finish() passed: states judged, and the states
   *  finish() reached once their programs had finished (a memo: many
   *  states finish alike) */
  private readonly passed = new Set<string>();

  constructor(
    readonly policy: Policy<unknown>,
    readonly cfg: CheckConfig,
    opts: ExpanderOptions = {},
  ) {
    this.cmds = exhaustiveAlphabet(genCtx(policy, cfg), opts.batch ?? false);
    if (this.cmds.length > 255) throw new Error(`exhaustive: ${this.cmds.length} letters (at most 255)`);
    this.known = new Set(knownFindings(policy, cfg.name));
    this.tolerate = knownObservations(policy, [...this.known]);
    this.promise = opts.promise ?? [];
    this.exactKeys = opts.exactKeys ?? false;
    this.footprints = opts.footprints ?? false;
    this.which = classifier(policy, cfg, { promise: this.promise, tolerate: this.tolerate, known: [...this.known] });
  }

  /** The known finding a violation reached by path is (its signature
   *  matches), or null: a new violation. The path is replayed as commands,
   *  so a violation that came from a worker thread (no witness) is judged
   *  as it happens here. */
  finding(path: Uint8Array, v: Violation): string | null {
    if (!this.known.has(v.invariant)) return null;
    const commands = [...path].map((i) => this.cmds[i]!);
    const r = runCommands(this.policy, this.cfg, commands, { promise: this.promise, tolerate: this.tolerate });
    const w = r.violation?.invariant === v.invariant ? r.violation : v;
    return this.which(w, () => commands)?.name ?? null;
  }

  private readonly which: ReturnType<typeof classifier>;

  /** Boot, then the first n commands of path; a violation is thrown. */
  replay(path: Uint8Array, n: number): Sim {
    const sim = new Sim(this.policy, this.cfg, { promise: this.promise, tolerate: this.tolerate });
    sim.k.keepHistory = true;
    for (let i = 0; i < n && !sim.over; i++) sim.exec(this.cmds[path[i]!]!);
    return sim;
  }

  /** Boot (path of length 0), or replay path's prefix and run its last
   *  letter, which must run as itself (harness/exhaustive/letters.ts). */
  run(path: Uint8Array): Outcome {
    const n = path.length;
    let sim: Sim;
    let fp = EVERY;
    try {
      sim = this.replay(path, n - 1);
      if (n > 0) {
        const c = this.cmds[path[n - 1]!]!;
        const from = sim.log.length;
        if (this.footprints) fp = execRecorded(sim, c);
        else sim.exec(c);
        if (!ranAsItself(sim, from, c)) {
          throw new Error(`exhaustive: letter ${JSON.stringify(c)} did not run as itself (harness/exhaustive/letters.ts disagrees with harness/sim.ts)`);
        }
      }
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      return { v: e, fp: EVERY };
    }
    return { sim, key: this.key(sim), fp };
  }

  /** The state's key: its canonical encoding's 128-bit hash, or the
   *  encoding itself (exactKeys). */
  key(sim: Sim): string {
    return this.exactKeys ? stateKey(sim) : stateHash(sim);
  }

  /** A new state (key), live in sim: the letters to run from it (none
   *  once a teardown ended), then run it to quiescence and tear it down.
   *  Once its programs have finished, the rest of finish() depends on the
   *  state alone, so it is skipped when that state's rest already passed
   *  (or the state itself did). Only passes are remembered: a state whose
   *  finish breaks an invariant says so each time, whoever judges it. */
  judge(sim: Sim, key: string): Judged {
    const next = sim.over ? new Uint8Array(0) : Uint8Array.from(expand(sim, this.cmds));
    let at: string | null = null;
    // no program running: finishing them changes nothing, the state is key
    let programs = false;
    for (const x of sim.k.contexts()) if (x.isProg) programs = true;
    try {
      sim.finish(() => {
        at = programs ? this.key(sim) : key;
        return this.passed.has(at);
      });
    } catch (e) {
      if (!(e instanceof Violation)) throw e;
      return { next, v: e };
    }
    // a memo, not a record: dropped when it grows (it only saves work)
    if (this.passed.size > MEMO_MAX) this.passed.clear();
    if (at !== null) this.passed.add(at);
    this.passed.add(key);
    return { next, v: null };
  }
}
