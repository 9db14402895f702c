// The explanation of a run as data (Elle's explainer, STYLE 10): the trace
// events numbered as the text trace numbers them, the CPU lanes they ran
// in, and for every object the trace names, its story: where it came from
// slab, was handed out, freed, put on which list, read, reused. Text, JSON,
// mermaid and HTML are renderings of this one structure.
import { LEVEL_RANK, type Level, type ObjAct } from '../../spec/kernel/types.ts';
import type { TraceEvent } from '../trace.ts';

export const EXPLANATION_FORMAT = 'allocspec-explanation';

/** One context level on one CPU: a column of the timeline. */
export interface Lane {
  id: string;
  cpu: number;
  level: Level;
}

export type ObjAction =
  | 'from slab'
  | 'allocated'
  | 'taken off list'
  | 'list taken whole'
  | 'becomes list head'
  | 'put on list'
  | 'linked'
  | 'freed by program'
  | 'looked up'
  | 'read'
  | 'to slab'
  | 'touched'
  | 'named in violation';

export interface StoryStep {
  /** index into Explanation.events */
  event: number;
  /** the step number of the text trace; null for commands and the violation */
  step: number | null;
  lane: string | null;
  ctx: string | null;
  /** innermost kernel function */
  fn: string | null;
  action: ObjAction;
  /** the list or counter the step touched */
  list: string | null;
  what: string;
}

export interface ObjectStory {
  obj: string;
  /** handed out again after a program freed it */
  reused: boolean;
  inViolation: boolean;
  steps: StoryStep[];
}

export type NumberedEvent = TraceEvent & { step?: number; lane?: string };

export interface Explanation {
  format: typeof EXPLANATION_FORMAT;
  version: 1;
  source: { fixture: string | null; policy: string; config: string; cpus: number; seed: number; path: string };
  verdict: {
    expected: 'violates' | 'holds';
    expectedInvariant: string | null;
    observed: { invariant: string; message: string } | null;
    /** the run ended as the fixture says it should */
    matches: boolean;
  };
  lanes: Lane[];
  events: NumberedEvent[];
  objects: ObjectStory[];
}

export const laneId = (cpu: number, level: Level): string => `cpu${cpu} ${level === 'hardirq' ? 'irq' : level}`;

/** A primitive's own account of a step (the event's act), as a story
 *  action: an object a program's allocation took off a list is allocated. */
function fromAct(e: Extract<TraceEvent, { kind: 'step' }>, act: ObjAct): ObjAction {
  if (act === 'taken off list' && e.prog === 'alloc') return 'allocated';
  return act;
}

/** What a step did to another object its footprint names: wrote its link,
 *  or read it. */
function other(e: Extract<TraceEvent, { kind: 'step' }>, obj: string): ObjAction {
  return e.wrote?.includes(obj) ? 'linked' : 'touched';
}

export interface ExplainInput {
  events: readonly TraceEvent[];
  cpus: number;
  fixture: string | null;
  policy: string;
  config: string;
  seed: number;
  path: string;
  expected: 'violates' | 'holds';
  expectedInvariant: string | null;
}

export function explain(inp: ExplainInput): Explanation {
  const lanes = new Map<string, Lane>();
  const stories = new Map<string, ObjectStory>();
  const story = (obj: string): ObjectStory => {
    let s = stories.get(obj);
    if (!s) stories.set(obj, (s = { obj, reused: false, inViolation: false, steps: [] }));
    return s;
  };
  const events: NumberedEvent[] = [];
  let stepNo = 0;
  let observed: Explanation['verdict']['observed'] = null;
  inp.events.forEach((e, i) => {
    if (e.kind === 'start' || e.kind === 'step') {
      const id = laneId(e.cpu, e.level);
      if (!lanes.has(id)) lanes.set(id, { id, cpu: e.cpu, level: e.level });
    }
    switch (e.kind) {
      case 'step': {
        stepNo++;
        const lane = laneId(e.cpu, e.level);
        events.push({ ...e, step: stepNo, lane });
        // the objects the step acted on and touched, and what it did to
        // each: data the engine recorded (the label is not read)
        const names = new Set([...(e.obj ? [e.obj] : []), ...(e.wrote ?? []), ...(e.read ?? [])]);
        for (const obj of names) {
          const action = obj === e.obj && e.act ? fromAct(e, e.act) : other(e, obj);
          story(obj).steps.push({ event: i, step: stepNo, lane, ctx: e.ctx, fn: e.fns.at(-1) ?? null, action, list: e.touched && e.touched !== obj ? e.touched : null, what: e.what });
        }
        break;
      }
      case 'cmd': {
        events.push({ ...e });
        // the program the command started hands these back
        for (const obj of e.freed ?? []) {
          story(obj).steps.push({ event: i, step: null, lane: null, ctx: e.did.split(' ')[0]!, fn: null, action: 'freed by program', list: null, what: e.did });
        }
        break;
      }
      case 'violation': {
        events.push({ ...e });
        observed = { invariant: e.invariant, message: e.message };
        // the objects the violation's message names (its text: a fact's
        // words, not a step's label)
        for (const obj of new Set([...e.message.matchAll(/\bobj\d+\b/g)].map((x) => x[0]))) {
          const s = story(obj);
          s.inViolation = true;
          s.steps.push({ event: i, step: null, lane: null, ctx: null, fn: null, action: 'named in violation', list: null, what: `${e.invariant}: ${e.message}` });
        }
        break;
      }
      default:
        events.push({ ...e });
    }
  });
  for (const s of stories.values()) {
    let freed = false;
    for (const st of s.steps) {
      if (st.action === 'freed by program') freed = true;
      if (st.action === 'allocated' && freed) s.reused = true;
    }
  }
  const byId = (a: string, b: string): number => Number(a.slice(3)) - Number(b.slice(3));
  const o = observed as Explanation['verdict']['observed'];
  return {
    format: EXPLANATION_FORMAT,
    version: 1,
    source: { fixture: inp.fixture, policy: inp.policy, config: inp.config, cpus: inp.cpus, seed: inp.seed, path: inp.path },
    verdict: {
      expected: inp.expected,
      expectedInvariant: inp.expectedInvariant,
      observed: o,
      matches: inp.expected === 'holds' ? o === null : o?.invariant === inp.expectedInvariant,
    },
    lanes: [...lanes.values()].sort((a, b) => a.cpu - b.cpu || LEVEL_RANK[a.level] - LEVEL_RANK[b.level]),
    events,
    objects: [...stories.values()].sort((a, b) => Number(b.inViolation) - Number(a.inViolation) || byId(a.obj, b.obj)),
  };
}

/** The stories as text, one object a paragraph; steps that only link or
 *  touch an object are left to the trace. */
export function renderStoryText(x: Explanation): string {
  if (!x.objects.length) return '';
  const out = ['objects:'];
  for (const s of x.objects) {
    const flags = [s.inViolation ? 'named in the violation' : '', s.reused ? 'reused' : ''].filter(Boolean).join(', ');
    out.push(`  ${s.obj}${flags ? ` (${flags})` : ''}`);
    for (const st of s.steps) {
      if (st.action === 'linked' || st.action === 'touched' || st.action === 'named in violation') continue;
      const where = st.step !== null ? `step ${st.step}, ${st.lane} ${st.ctx}${st.fn ? ` in ${st.fn}` : ''}` : st.what;
      out.push(`    ${st.action}${st.list ? ` ${st.list}` : ''}  (${where})`);
    }
  }
  return out.join('\n') + '\n';
}
