#!/usr/bin/env node
// The ±2× sensitivity sweep of docs/workload.md: the five-flavour table once
// with every constant as it is, then once per swept constant at half and
// at twice its value; prints, per constant, the use cases whose ranking of
// flavours changes and how (markdown). Each table is one `allocspec
// workload --json -` run (its runs in child processes).
//   node scripts/workload-sweep.mjs [--seconds S] [--scale N] [--cpus N] [--jobs N] [--out FILE.json]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const base = ['--seconds', opt('seconds', '0.5'), '--scale', opt('scale', '32'), '--cpus', opt('cpus', '8'), '--jobs', opt('jobs', '2')];
/** ranking bands: within TIE of each other two flavours are tied; a
 *  reversal beyond CLEAR on both sides is a clear flip */
const TIE = 0.05;
const CLEAR = 0.2;

function table(sets) {
  const args = [join(ROOT, 'bin/allocspec.mjs'), 'workload', ...base, '--json', '-', ...sets.flatMap((s) => ['--set', s])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`workload ${sets.join(' ')}: ${r.stderr.trim().split('\n').pop()}`);
  const reports = JSON.parse(r.stdout);
  return Object.fromEntries(reports.map((u) => [u.useCase, Object.fromEntries(u.results.map((x) => [x.policy, x.avgMiB]))]));
}

function order(m) {
  return Object.entries(m)
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([p]) => p);
}

/** pairs whose order reverses from a to b (beyond the tie band) */
function reversals(a, b) {
  const out = [];
  const ps = Object.keys(a);
  for (const p of ps) {
    for (const q of ps) {
      const before = a[p] < a[q] * (1 - TIE);
      const after = b[q] < b[p] * (1 - TIE);
      if (before && after) out.push({ p, q, clear: a[p] < a[q] * (1 - CLEAR) && b[q] < b[p] * (1 - CLEAR) });
    }
  }
  return out;
}

const constants = JSON.parse(
  spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./harness/workload/constants.ts').then((m) => console.log(JSON.stringify(m.CONSTANTS)))"], { cwd: ROOT, encoding: 'utf8' }).stdout,
);
const t0 = Date.now();
const baseline = table([]);
const rows = [];
const all = { settings: base, baseline, variants: {} };
for (const [name, c] of Object.entries(constants)) {
  if (!c.sweep) continue;
  for (const f of [0.5, 2]) {
    const v = c.unit === 'ns' ? c.value * f : Math.max(1, Math.round(c.value * f));
    const t = table([`${name}=${v}`]);
    all.variants[`${name}x${f}`] = t;
    const flips = [];
    for (const u of Object.keys(baseline)) {
      for (const r of reversals(baseline[u], t[u])) flips.push(`${u}: ${r.q} < ${r.p}${r.clear ? ' (clear)' : ''}`);
    }
    rows.push(`| ${name} | ×${f} (${v}) | ${flips.length ? flips.join('; ') : 'none'} |`);
    process.stderr.write(`${name} x${f}: ${flips.length} reversal(s) (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
}
const lines = ['| constant | value | rankings that change (use case: new order of a pair) |', '| --- | --- | --- |', ...rows];
lines.push('', 'baseline order, least memory first:', '');
for (const [u, m] of Object.entries(baseline)) lines.push(`- ${u}: ${order(m).map((p) => `${p} ${m[p].toFixed(2)}`).join(' < ')}`);
console.log(lines.join('\n'));
const out = opt('out', null);
if (out) writeFileSync(out, JSON.stringify(all, null, 1));
