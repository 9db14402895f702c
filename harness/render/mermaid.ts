// The explanation as a mermaid sequence diagram: one participant per CPU
// lane (cpuN task / softirq / irq / nmi) and one per list the run touched.
// A step on a list is an arrow from its lane to the list; other steps are
// notes on the lane; an interrupt is an arrow from the CPU's task lane to
// the lane it opens; the broken invariant is the last note.
import type { Explanation, NumberedEvent } from './story.ts';

/** A step that touched a list head (an arrow to the list), not a counter
 *  or an object (a note): the event says so. */
export const isList = (e: { touched: string; list?: boolean }): boolean => e.list === true && e.touched !== '';

// mermaid reads ';' as a statement end and '#' as an entity start
const esc = (s: string): string => s.replace(/[#;\n]/g, (c) => (c === '#' ? '#35;' : c === ';' ? '#59;' : ' '));
const pid = (lane: string): string => lane.replace(/[^A-Za-z0-9]+/g, '_');

export function renderMermaid(x: Explanation): string {
  const out = ['sequenceDiagram'];
  const s = x.source;
  out.push(`  %% allocspec ${s.policy}, config ${s.config}, seed ${s.seed}, path ${s.path || '-'}${s.fixture ? `, ${s.fixture}` : ''}`);
  for (const l of x.lanes) out.push(`  participant ${pid(l.id)} as ${l.id}`);
  const lists: string[] = [];
  for (const e of x.events) if (e.kind === 'step' && isList(e) && !lists.includes(e.touched)) lists.push(e.touched);
  lists.forEach((l, i) => out.push(`  participant L${i} as ${esc(l)}`));
  const first = x.lanes[0] ? pid(x.lanes[0].id) : null;
  const last = lists.length ? `L${lists.length - 1}` : x.lanes.length ? pid(x.lanes.at(-1)!.id) : null;
  const span = first && last && first !== last ? `${first},${last}` : first ?? last;
  const wide = (text: string): void => {
    if (span) out.push(`  Note over ${span}: ${esc(text)}`);
  };

  // consecutive non-list steps of one lane become one note
  let note: { lane: string; lines: string[] } | null = null;
  const flush = (): void => {
    if (note) out.push(`  Note right of ${pid(note.lane)}: ${note.lines.map(esc).join('<br/>')}`);
    note = null;
  };
  const fnOf = (e: Extract<NumberedEvent, { kind: 'step' }>): string => (e.fns.length ? e.fns.join(' › ') : '(program body)');
  let lastFn = new Map<string, string>();

  for (const e of x.events) {
    switch (e.kind) {
      case 'cmd':
        flush();
        lastFn = new Map();
        wide(`${e.n}. ${e.text}${e.did && !e.did.startsWith(e.text) ? ` → ${e.did}` : ''}`);
        break;
      case 'phase':
        flush();
        lastFn = new Map();
        wide(e.text);
        break;
      case 'start': {
        flush();
        const lane = pid(e.lane ?? `cpu${e.cpu} ${e.level === 'hardirq' ? 'irq' : e.level}`);
        const base = pid(`cpu${e.cpu} task`);
        if (e.level !== 'task' && x.lanes.some((l) => pid(l.id) === base)) out.push(`  ${base}-)${lane}: ${esc(`${e.ctx} interrupts cpu${e.cpu}`)}`);
        else out.push(`  Note over ${lane}: ${esc(`${e.ctx} starts`)}`);
        break;
      }
      case 'step': {
        const lane = e.lane!;
        const fn = fnOf(e);
        const head = lastFn.get(lane) !== fn ? `${e.ctx} ${fn}` : null;
        lastFn.set(lane, fn);
        if (isList(e)) {
          flush();
          out.push(`  ${pid(lane)}->>L${lists.indexOf(e.touched)}: ${esc(`${e.step} ${head ? `${head}: ` : ''}${e.what}`)}`);
        } else {
          if (note && note.lane !== lane) flush();
          note ??= { lane, lines: [] };
          if (head) note.lines.push(head);
          note.lines.push(`${e.step} ${e.what}${e.touched ? ` [${e.touched}]` : ''}`);
        }
        break;
      }
      case 'violation':
        flush();
        wide(`✗ ${e.invariant}: ${e.message}`);
        break;
    }
  }
  flush();
  return out.join('\n') + '\n';
}
