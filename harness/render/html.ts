// The explanation as a self-contained HTML page (inline CSS, no script, no
// external resource): a timeline with one column per CPU lane, grouped by
// CPU and shaded by level (task > softirq > irq > nmi), commands and phases
// as bands across all lanes, the broken invariant last, then each object's
// story.
import { isList } from './mermaid.ts';
import type { Explanation, NumberedEvent } from './story.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CSS = `
body { font: 13px/1.35 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin: 16px; color: #1b1f24; background: #fff; }
h1 { font-size: 16px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 20px 0 6px; }
.meta { color: #57606a; margin-bottom: 10px; }
.verdict { display: inline-block; padding: 2px 8px; border-radius: 4px; font-weight: bold; }
.verdict.bad { background: #ffebe9; color: #a40e26; } .verdict.ok { background: #dafbe1; color: #116329; }
table.tl { border-collapse: collapse; width: 100%; table-layout: fixed; }
table.tl th, table.tl td { border: 1px solid #d0d7de; padding: 2px 6px; vertical-align: top; overflow-wrap: anywhere; }
table.tl th { background: #f6f8fa; position: sticky; top: 0; }
th.cpu { font-size: 14px; } td.n, th.n { width: 3em; text-align: right; color: #57606a; }
.lv-task { background: #ffffff; } .lv-softirq { background: #eef7ee; } .lv-hardirq { background: #fff8dc; } .lv-nmi { background: #ffeef0; }
td.step { border-left-width: 1px; }
td.step.lv-softirq { box-shadow: inset 4px 0 #7bc47f; padding-left: 10px; } td.step.lv-hardirq { box-shadow: inset 8px 0 #e3b341; padding-left: 14px; } td.step.lv-nmi { box-shadow: inset 12px 0 #e5534b; padding-left: 18px; }
.fn { color: #0550ae; font-weight: bold; } .ctx { color: #8250df; }
.touched { color: #57606a; } .touched.list { color: #953800; font-weight: bold; }
tr.cmd td { background: #ddf4ff; font-weight: bold; } tr.phase td { background: #f6f8fa; font-style: italic; }
tr.violation td { background: #ffebe9; color: #a40e26; font-weight: bold; border: 2px solid #cf222e; }
.obj { font-weight: bold; color: #1a7f37; }
ol.story { margin: 2px 0 8px; } .legend span { padding: 1px 6px; margin-right: 6px; border: 1px solid #d0d7de; }
`;

/** s escaped, the objects the explanation has stories of (data) marked:
 *  each word of s that names one. */
function marker(names: ReadonlySet<string>): (s: string) => string {
  return (s: string): string => {
    let out = '';
    let word = '';
    const flush = (): void => {
      out += names.has(word) ? `<span class="obj">${word}</span>` : esc(word);
      word = '';
    };
    for (const ch of s) {
      const c = ch.charCodeAt(0);
      if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) word += ch;
      else {
        flush();
        out += esc(ch);
      }
    }
    flush();
    return out;
  };
}

function section(x: Explanation): string {
  const objs = marker(new Set(x.objects.map((o) => o.obj)));
  const cols = x.lanes.length;
  const s = x.source;
  const v = x.verdict;
  const h: string[] = [];
  h.push(`<section><h1>${esc(s.policy)}</h1>`);
  h.push(
    `<div class="meta">config ${esc(s.config)} · ${s.cpus} CPUs · seed ${s.seed} · path ${esc(s.path || '-')}${s.fixture ? ` · ${esc(s.fixture)}` : ''}</div>`,
  );
  const verdict = v.observed ? `✗ ${v.observed.invariant} violated` : 'no invariant violated';
  h.push(`<div><span class="verdict ${v.observed ? 'bad' : 'ok'}">${esc(verdict)}</span> expected: ${esc(v.expected === 'holds' ? 'holds' : `violates ${v.expectedInvariant}`)}${v.matches ? '' : ' — <b>does not match</b>'}</div>`);
  h.push('<p class="legend">nesting: <span class="lv-task">task</span><span class="lv-softirq">softirq</span><span class="lv-hardirq">irq</span><span class="lv-nmi">nmi</span> (an interrupting level is shaded and indented)</p>');
  h.push('<table class="tl"><thead>');
  // CPU header over its lanes, then one header per lane
  const cpus: { cpu: number; n: number }[] = [];
  for (const l of x.lanes) {
    const last = cpus.at(-1);
    if (last && last.cpu === l.cpu) last.n++;
    else cpus.push({ cpu: l.cpu, n: 1 });
  }
  h.push(`<tr><th class="n" rowspan="2">step</th>${cpus.map((c) => `<th class="cpu" colspan="${c.n}">cpu${c.cpu}</th>`).join('')}</tr>`);
  h.push(`<tr>${x.lanes.map((l) => `<th class="lv-${l.level}">${esc(l.id)}</th>`).join('')}</tr></thead><tbody>`);
  const band = (cls: string, text: string): void => {
    h.push(`<tr class="${cls}"><td class="n"></td><td colspan="${cols}">${text}</td></tr>`);
  };
  const lastFn = new Map<string, string>();
  for (const e of x.events as NumberedEvent[]) {
    switch (e.kind) {
      case 'cmd':
        lastFn.clear();
        band('cmd', `${e.n}. ${objs(e.text)}${e.did && !e.did.startsWith(e.text) ? ` → ${objs(e.did)}` : ''}`);
        break;
      case 'phase':
        lastFn.clear();
        band('phase', esc(e.text));
        break;
      case 'start':
        break;
      case 'step': {
        const fn = e.fns.length ? e.fns.join(' › ') : '(program body)';
        const key = `${e.ctx} ${fn}`;
        const head = lastFn.get(e.lane!) !== key ? `<div><span class="ctx">${esc(e.ctx)}</span> <span class="fn">${esc(fn)}</span></div>` : '';
        lastFn.set(e.lane!, key);
        const touched = e.touched ? ` <span class="touched${isList(e) ? ' list' : ''}">[${objs(e.touched)}]</span>` : '';
        const cells = x.lanes.map((l) => (l.id === e.lane ? `<td class="step lv-${l.level}">${head}${objs(e.what)}${touched}</td>` : `<td class="lv-${l.level}"></td>`));
        h.push(`<tr><td class="n">${e.step}</td>${cells.join('')}</tr>`);
        break;
      }
      case 'violation':
        band('violation', `✗ ${esc(e.invariant)}: ${objs(e.message)}`);
        break;
    }
  }
  h.push('</tbody></table>');
  if (x.objects.length) {
    h.push('<h2>objects</h2>');
    for (const o of x.objects) {
      const flags = [o.inViolation ? 'named in the violation' : '', o.reused ? 'reused' : ''].filter(Boolean).join(', ');
      h.push(`<div><span class="obj">${o.obj}</span>${flags ? ` (${esc(flags)})` : ''}</div><ol class="story">`);
      for (const st of o.steps) {
        const where = st.step !== null ? `step ${st.step}, ${esc(st.lane ?? '')} ${esc(st.ctx ?? '')}${st.fn ? ` in <span class="fn">${esc(st.fn)}</span>` : ''}: ${objs(st.what)}` : objs(st.what);
        h.push(`<li><b>${esc(st.action)}</b>${st.list ? ` ${esc(st.list)}` : ''} — ${where}</li>`);
      }
      h.push('</ol>');
    }
  }
  h.push('</section>');
  return h.join('\n');
}

export function renderHtml(xs: readonly Explanation[]): string {
  const title = xs.map((x) => `${x.source.policy}${x.verdict.observed ? `: ${x.verdict.observed.invariant}` : ''}`).join(', ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`allocspec — ${title}`)}</title>
<style>${CSS}</style></head>
<body>
${xs.map(section).join('\n<hr>\n')}
</body></html>
`;
}
