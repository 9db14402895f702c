// The --html page: memory over time, one line chart per use case, one line
// per flavour, drawn as plain SVG (no script, no library), with the table
// of averages and peaks under each chart.
import { topLists, type UseCaseReport } from './report.ts';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const W = 1200;
const H = 360;
const M = { l: 70, r: 230, t: 40, b: 45 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round axis steps: 1, 2, 5 x 10^k, about n of them up to max. */
export function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * p).find((s) => s >= raw)!;
  // up to the first step at or above max, so no line leaves the chart
  const out: number[] = [];
  const top = Math.ceil(max / step - 1e-9) * step;
  for (let v = 0; v <= top + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

/** At most `n` points a line: the largest value of each bucket, so no
 *  peak is lost (a long run samples every 2 ms). */
export function thin(t: readonly number[], v: readonly number[], n = 1500): { t: number[]; v: number[] } {
  if (t.length <= n) return { t: [...t], v: [...v] };
  const per = Math.ceil(t.length / n);
  const ot: number[] = [];
  const ov: number[] = [];
  for (let i = 0; i < t.length; i += per) {
    let j = i;
    for (let k = i; k < Math.min(i + per, t.length); k++) if (v[k]! > v[j]!) j = k;
    ot.push(t[j]!);
    ov.push(v[j]!);
  }
  return { t: ot, v: ov };
}

/** One use case's chart as an SVG element. */
export function svgChart(r: UseCaseReport): string {
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const tMax = Math.max(1e-9, ...r.results.flatMap((x) => x.series.tMs));
  const yMax = Math.max(1e-9, ...r.results.flatMap((x) => x.series.mib));
  const xt = ticks(tMax, 8);
  const yt = ticks(yMax, 5);
  const xMax = xt[xt.length - 1]!;
  const yTop = Math.max(yt[yt.length - 1]!, 1e-9);
  const X = (t: number): number => M.l + (t / xMax) * pw;
  const Y = (v: number): number => M.t + ph - (v / yTop) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="memory over time, ${esc(r.useCase)}">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  for (const v of yt) {
    out.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.l - 8}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" font-size="12">${fmt(v)}</text>`);
  }
  for (const t of xt) {
    out.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${M.t + ph}" y2="${M.t + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${X(t).toFixed(1)}" y="${M.t + ph + 20}" text-anchor="middle" font-size="12">${fmt(t)}</text>`);
  }
  out.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${M.t + ph}" y2="${M.t + ph}" stroke="#333"/>`);
  out.push(`<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + ph}" stroke="#333"/>`);
  out.push(`<text x="${M.l + pw / 2}" y="${H - 6}" text-anchor="middle" font-size="13">modelled time (ms)</text>`);
  out.push(`<text transform="translate(16 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">slab memory (MiB)</text>`);
  out.push(`<text x="${M.l}" y="20" font-size="15" font-weight="bold">${esc(r.useCase)}</text>`);
  r.results.forEach((x, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const line = thin(x.series.tMs, x.series.mib);
    const pts = line.t.map((t, j) => `${X(t).toFixed(1)},${Y(line.v[j]!).toFixed(1)}`).join(' ');
    out.push(`<polyline class="series" data-policy="${esc(x.policy)}" fill="none" stroke="${colour}" stroke-width="2" points="${pts}"/>`);
    const ly = M.t + 10 + i * 22;
    out.push(`<line x1="${M.l + pw + 16}" x2="${M.l + pw + 40}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`);
    out.push(`<text x="${M.l + pw + 46}" y="${ly + 4}" font-size="13">${esc(x.policy)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function tableHtml(r: UseCaseReport): string {
  const rows = r.results
    .map(
      (x) =>
        `<tr><td>${esc(x.policy)}</td><td class="n">${x.avgMiB.toFixed(3)}</td><td class="n">${x.peakMiB.toFixed(3)}</td><td class="n">${x.loopsK.toFixed(1)}</td><td class="n">${x.slabPerAlloc.toFixed(3)}</td><td>${esc(topLists(x.atPeak))}</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>policy</th><th>avg MiB</th><th>peak MiB</th><th>loop k/s</th><th>slab/alloc</th><th>objects per list at the peak</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

export function htmlPage(rs: readonly UseCaseReport[]): string {
  const s = rs[0]?.settings;
  const settings = s ? `${s.cpus} CPUs, ${s.seconds} s modelled, scale ${s.scale} (MiB scaled back: docs/workload.md)` : '';
  const body = rs.map((r) => `<section>\n${svgChart(r)}\n${tableHtml(r)}\n</section>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>allocspec workload</title>
<style>
body { font-family: sans-serif; margin: 16px; color: #222; }
section { margin-bottom: 28px; }
table { border-collapse: collapse; font-size: 13px; margin-top: 6px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
</style></head>
<body>
<h1 style="font-size:18px">allocspec workload: memory over time (htab-mem use cases)</h1>
<p>${esc(settings)}</p>
${body}
</body></html>
`;
}
