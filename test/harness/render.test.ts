// The explanation as data (story), and its renderings: JSON, mermaid, a
// self-contained HTML timeline.
import { beforeAll, describe, expect, it } from 'vitest';
import { replayFixture, type ReplayOutcome } from '../../harness/replay.ts';
import { renderHtml } from '../../harness/render/html.ts';
import { renderJson } from '../../harness/render/json.ts';
import { renderMermaid } from '../../harness/render/mermaid.ts';
import { renderStoryText } from '../../harness/render/story.ts';
import { makeFixture, tmp } from './fixture-helpers.ts';

let r: ReplayOutcome;
beforeAll(async () => {
  r = await replayFixture(makeFixture(tmp()).file);
});

describe('story: the per-object explanation', () => {
  it('lanes are the CPU contexts that ran, task before nmi', () => {
    // the bug needs an NMI free on a CPU whose task is inside unit_alloc
    const nmi = r.explanation.lanes.find((l) => l.level === 'nmi')!;
    const ids = r.explanation.lanes.map((l) => l.id);
    expect(ids.indexOf(`cpu${nmi.cpu} task`)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(`cpu${nmi.cpu} task`)).toBeLessThan(ids.indexOf(nmi.id));
  });

  it('the object the violation names comes first, with its path through the lists', () => {
    const o = r.explanation.objects[0]!;
    expect(o.inViolation).toBe(true);
    const actions = o.steps.map((s) => s.action);
    expect(actions).toContain('freed by program');
    expect(actions).toContain('put on list');
    expect(actions.at(-1)).toBe('named in violation');
    const put = o.steps.find((s) => s.action === 'put on list')!;
    expect(put.list).toMatch(/free_llist/);
    expect(put.lane).toMatch(/^cpu\d nmi$/);
  });

  it('steps are numbered as in the text trace', () => {
    const st = r.explanation.objects[0]!.steps.find((s) => s.step !== null)!;
    expect(r.trace).toMatch(new RegExp(`^\\s*${st.step} .*${st.what.replace(/[()[\]>*.]/g, '\\$&')}`, 'm'));
  });

  it('renders to text', () => {
    expect(renderStoryText(r.explanation)).toMatch(/^objects:\n {2}obj\d+ \(named in the violation/);
  });
});

describe('renderings', () => {
  it('json round-trips, violation last', () => {
    const x = JSON.parse(renderJson([r.explanation]));
    expect(x).toEqual(JSON.parse(JSON.stringify(r.explanation)));
    expect(x.events.at(-1).kind).toBe('violation');
  });

  it('mermaid: a sequence diagram with a participant per lane and list, the violation last', () => {
    const m = renderMermaid(r.explanation).trimEnd().split('\n');
    expect(m[0]).toBe('sequenceDiagram');
    for (const l of r.explanation.lanes) expect(m).toContain(`  participant ${l.id.replace(' ', '_')} as ${l.id}`);
    expect(m.some((l) => /participant L\d+ as c\[cpu\d\]\.free_llist/.test(l))).toBe(true);
    expect(m.at(-1)).toMatch(/Note over .*: ✗ Conservation: /);
    // ';' ends a mermaid statement and '#' starts an entity: only as entities
    for (const l of m.slice(2)) expect(l.replace(/#\d+;/g, '')).not.toMatch(/[;#]/);
  });

  it('html: self-contained, a column per lane, the violation the last row', () => {
    const h = renderHtml([r.explanation]);
    expect(h).not.toMatch(/<script|<link|src=|href=|url\(|https?:/i);
    for (const l of r.explanation.lanes) expect(h).toContain(`<th class="lv-${l.level}">${l.id}</th>`);
    const rows = h.slice(h.indexOf('<tbody>'), h.indexOf('</tbody>')).split('<tr');
    expect(rows.at(-1)).toMatch(/^ class="violation"/);
  });
});

describe('steps as data', () => {
  it('the primitives record the object each step acted on and what they did to it; the story reads that, not the label', () => {
    const steps = r.explanation.events.filter((e) => e.kind === 'step') as Extract<(typeof r.explanation.events)[number], { kind: 'step' }>[];
    const withData = steps.filter((e) => e.obj !== undefined);
    expect(withData.length).toBeGreaterThan(0);
    for (const e of withData) {
      expect(e.what).toContain(e.obj!);
      expect(['from slab', 'to slab', 'put on list', 'taken off list', 'list taken whole', 'becomes list head', 'linked', 'looked up', 'read']).toContain(e.act);
    }
    // every 'put on list' in a story comes from a step whose data says so
    for (const o of r.explanation.objects) {
      for (const st of o.steps.filter((s) => s.action === 'put on list')) {
        const e = r.explanation.events[st.event] as (typeof withData)[number];
        expect([e.obj, e.act]).toEqual([o.obj, 'put on list']);
      }
    }
  });
});
