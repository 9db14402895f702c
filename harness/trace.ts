// Traces as data first: every step that ran, keyed by CPU and context level,
// with the kernel function stack and what the step touched; then rendered to
// text here (harness/render/ holds the other renderings).
import type { Context } from '../spec/kernel/context.ts';
import type { Tracer } from '../spec/kernel/kernel.ts';
import type { Level, ObjAct } from '../spec/kernel/types.ts';
import { Obj } from '../spec/kernel/obj.ts';
import { LlistHead } from '../spec/kernel/llist.ts';

export type TraceEvent =
  /** a generated command, and what it did (the objects a program it
   *  started gave back, as data) */
  | { kind: 'cmd'; n: number; text: string; did: string; freed?: string[] }
  /** a context starts on a CPU */
  | { kind: 'start'; cpu: number; level: Level; ctx: string }
  /** one atomic step: its label in C words, the list or counter it
   *  touched, and as data the object it acted on and what it did to it */
  | {
      kind: 'step';
      cpu: number;
      level: Level;
      ctx: string;
      fns: string[];
      what: string;
      touched: string;
      obj?: string;
      act?: ObjAct;
      /** the primitive that took the step (spec/kernel/events.ts Event.op) */
      op?: string;
      /** what touched names is a list head */
      list?: boolean;
      /** the operation of the program the step belongs to (alloc, free, ...) */
      prog?: string;
      /** other objects the step wrote (a link) and read, from its footprint */
      wrote?: string[];
      read?: string[];
    }
  /** a phase of the run the harness enters (settle, teardown) */
  | { kind: 'phase'; text: string }
  /** the broken invariant, always last */
  | { kind: 'violation'; invariant: string; message: string };

/** Names of the objects among a footprint's first n entries, but `not`. */
function objsOf(locs: readonly unknown[], n: number, not: Obj | null): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const l = locs[i];
    if (l instanceof Obj && l !== not && !out.includes(l.name)) out.push(l.name);
  }
  return out;
}

export class TraceRecorder implements Tracer {
  readonly events: TraceEvent[] = [];
  step(x: Context, what: string): void {
    const e: TraceEvent = { kind: 'step', cpu: x.cpu, level: x.level, ctx: x.label, fns: [...x.fns], what, touched: x.touched };
    if (x.obj && x.act) {
      e.obj = x.obj.name;
      e.act = x.act;
    }
    if (x.op !== '') e.op = x.op;
    if (x.target instanceof LlistHead && x.touchedText === '') e.list = true;
    if (x.progOp !== '') e.prog = x.progOp;
    // the objects the step's footprint names (recorded: a traced run keeps
    // its events), beside the one it acted on
    const wrote = objsOf(x.wr, x.nwr, x.obj);
    const read = objsOf(x.rd, x.nrd, x.obj);
    if (wrote.length) e.wrote = wrote;
    if (read.length) e.read = read.filter((n) => !wrote.includes(n));
    this.events.push(e);
    x.touchedText = '';
    x.target = null;
    x.obj = null;
    x.act = null;
  }
  note(x: Context | null, what: string): void {
    if (x) this.events.push({ kind: 'start', cpu: x.cpu, level: x.level, ctx: x.label });
    else if (what.startsWith('» end') || what.startsWith('» teardown')) this.events.push({ kind: 'phase', text: what.slice(2) });
  }
  /** Record a command before it runs; the caller fills in `did`. */
  command(n: number, text: string): { did: string; freed?: string[] } {
    const ev = { kind: 'cmd' as const, n, text, did: '' };
    this.events.push(ev);
    return ev;
  }
  violation(invariant: string, message: string): void {
    this.events.push({ kind: 'violation', invariant, message });
  }
}

const INDENT: Record<Level, string> = { task: '', softirq: '  ', hardirq: '    ', nmi: '      ' };
const TAG: Record<Level, string> = { task: 'task', softirq: 'softirq', hardirq: 'irq', nmi: 'nmi' };

/** Folding: a block of up to MAX_PERIOD steps that repeats so that at
 *  least MIN_FOLDED steps would repeat is shown once, then one line says
 *  how often it repeats (a livelock's 20,000 steps read as a few lines). */
const MAX_PERIOD = 4;
const MIN_FOLDED = 8;

type StepEvent = Extract<TraceEvent, { kind: 'step' }>;
const stepKey = (e: StepEvent): string => `${e.cpu}\0${e.level}\0${e.ctx}\0${e.fns.join('\0')}\0${e.what}\0${e.touched}`;

/** How many steps from i on repeat the block of `period` steps before
 *  them, for the best period; [period, repeated steps]. */
function repeatAt(events: readonly TraceEvent[], keys: readonly (string | null)[], i: number): [number, number] {
  let best: [number, number] = [0, 0];
  for (let p = 1; p <= MAX_PERIOD; p++) {
    if (i + p > events.length) break;
    // a block within one context and function (one header above it)
    let ok = true;
    const h = (j: number): string => keys[j]!.split('\0').slice(0, -2).join('\0');
    for (let j = i; j < i + p; j++) if (keys[j] === null || h(j) !== h(i)) ok = false;
    if (!ok) break;
    let n = 0;
    while (i + p + n < events.length && keys[i + p + n] !== null && keys[i + p + n] === keys[i + n]) n++;
    n -= n % p; // whole repetitions only
    if (n >= MIN_FOLDED && n > best[1]) best = [p, n];
  }
  return best;
}

/** Text: one header per run of steps of one context in one function, the
 *  steps beneath it, per-CPU lanes by column, nesting by indent; long
 *  repetitions folded. */
export function renderText(events: readonly TraceEvent[], cpus: number): string {
  const out: string[] = [];
  const lane = (cpu: number): string => ' '.repeat(cpu * 6);
  let head = '';
  let stepNo = 0;
  const keys = events.map((e) => (e.kind === 'step' ? stepKey(e) : null));
  out.push(`lanes: ${Array.from({ length: cpus }, (_, i) => `${lane(i)}cpu${i}`).join('')}   nesting: task > softirq > irq > nmi`);
  let foldUntil = -1;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    switch (e.kind) {
      case 'cmd':
        out.push(`── ${e.n}. ${e.text}${e.did && !e.did.startsWith(e.text) ? `  →  ${e.did}` : ''}`);
        head = '';
        break;
      case 'phase':
        out.push(`── ${e.text}`);
        head = '';
        break;
      case 'start':
        break;
      case 'step': {
        stepNo++;
        const fn = e.fns.length ? e.fns.join(' › ') : '(program body)';
        const h = `${lane(e.cpu)}cpu${e.cpu} ${INDENT[e.level]}${TAG[e.level]} ${e.ctx}  ${fn}`;
        if (h !== head) {
          out.push(h);
          head = h;
        }
        const pad = ' '.repeat(lane(e.cpu).length + 6 + INDENT[e.level].length);
        out.push(`${String(stepNo).padStart(4)} ${pad}${e.what}${e.touched ? `   [${e.touched}]` : ''}`);
        if (i > foldUntil) {
          const [p, n] = repeatAt(events, keys, i);
          if (p) {
            // show the block once (the loop prints its other steps), then fold
            foldUntil = i + p - 1;
            const first = stepNo + p;
            const skipTo = i + p + n;
            for (let j = i + 1; j < i + p; j++) {
              const f = events[j] as StepEvent;
              stepNo++;
              out.push(`${String(stepNo).padStart(4)} ${pad}${f.what}${f.touched ? `   [${f.touched}]` : ''}`);
            }
            stepNo += n;
            out.push(`${' '.repeat(5)}${pad}… the ${p === 1 ? 'same step' : `same ${p} steps`} ${n / p} more time${n / p > 1 ? 's' : ''} (steps ${first}–${stepNo})`);
            i = skipTo - 1;
          }
        }
        break;
      }
      case 'violation':
        out.push(`✗ ${e.invariant}: ${e.message}`);
        break;
    }
  }
  return out.join('\n') + '\n';
}
