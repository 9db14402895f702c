// Traces as data first: every step that ran, keyed by CPU and context level,
// with the kernel function stack and what the step touched; then rendered to
// text here (harness/render/ holds the other renderings).
import type { Context } from '../spec/kernel/context.ts';
import type { Tracer } from '../spec/kernel/kernel.ts';
import type { Level } from '../spec/kernel/types.ts';

export type TraceEvent =
  /** a generated command, and what it did */
  | { kind: 'cmd'; n: number; text: string; did: string }
  /** a context starts on a CPU */
  | { kind: 'start'; cpu: number; level: Level; ctx: string }
  /** one atomic step */
  | { kind: 'step'; cpu: number; level: Level; ctx: string; fns: string[]; what: string; touched: string }
  /** a phase of the run the harness enters (settle, teardown) */
  | { kind: 'phase'; text: string }
  /** the broken invariant, always last */
  | { kind: 'violation'; invariant: string; message: string };

export class TraceRecorder implements Tracer {
  readonly events: TraceEvent[] = [];
  step(x: Context, what: string): void {
    this.events.push({ kind: 'step', cpu: x.cpu, level: x.level, ctx: x.label, fns: [...x.fns], what, touched: x.touched });
    x.touched = '';
  }
  note(x: Context | null, what: string): void {
    if (x) this.events.push({ kind: 'start', cpu: x.cpu, level: x.level, ctx: x.label });
    else if (what.startsWith('» end') || what.startsWith('» teardown')) this.events.push({ kind: 'phase', text: what.slice(2) });
  }
  /** Record a command before it runs; the caller fills in `did`. */
  command(n: number, text: string): { did: string } {
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

/** Text: one header per run of steps of one context in one function, the
 *  steps beneath it, per-CPU lanes by column, nesting by indent. */
export function renderText(events: readonly TraceEvent[], cpus: number): string {
  const out: string[] = [];
  const lane = (cpu: number): string => ' '.repeat(cpu * 6);
  let head = '';
  let stepNo = 0;
  out.push(`lanes: ${Array.from({ length: cpus }, (_, i) => `${lane(i)}cpu${i}`).join('')}   nesting: task > softirq > irq > nmi`);
  for (const e of events) {
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
        break;
      }
      case 'violation':
        out.push(`✗ ${e.invariant}: ${e.message}`);
        break;
    }
  }
  return out.join('\n') + '\n';
}
