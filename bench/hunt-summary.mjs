#!/usr/bin/env node
// Summarise a bench/hunt-upstream.sh directory as the markdown tables of
// docs/upstream.md "The hunt".   usage: node bench/hunt-summary.mjs [--doc] [DIR]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// --doc: only the situations the hunt is about (docs/upstream.md)
const doc = process.argv.includes('--doc');
const dir = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '/tmp/hunt';
const rows = readFileSync(join(dir, 'summary.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
const n = (x) => (typeof x === 'number' ? x.toLocaleString('en-US') : x);
const arg = (args, flag) => { const a = args.split(' '); const i = a.indexOf(flag); return i < 0 ? undefined : a[i + 1]; };

// the situations the hunt is about, in the order of the doc's table
const SITS = [
  'llist_del_first-raced-other-cpu',
  'llist_del_first-raced-other-cpu:free_by_rcu_ttrace',
  'llist_del_first-raced-other-cpu:waiting_for_gp_ttrace',
  'llist_del_first-retry',
  'llist_del_first-aba',
  'alloc_bulk-reuses:free_by_rcu_ttrace',
  'alloc_bulk-reuses:waiting_for_gp_ttrace',
  'draining-set-while-callbacks-in-flight',
  'teardown-with-callbacks-in-flight',
  'do_call_rcu_ttrace-draining:in_progress',
  'do_call_rcu_ttrace-draining:free_now',
  'check_free_by_rcu-draining',
  'free-of-other-cpu-object',
  'free_bulk-into-other-cpu-tgt',
  '__free_by_rcu-into-other-cpu-tgt',
  'free_rcu-into-free_llist_extra_rcu',
  'check_free_by_rcu-drains-free_llist_extra_rcu',
  'check_free_by_rcu-while-call_rcu_in_progress',
  'rcu-callback-racing-free',
  'irq-work-while-other-cpu-frees',
];

const out = [];
out.push('| run | configuration | strategy | runs / depth | steps | states | wall s | exit | result |');
out.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
const cov = [];
const tot = { runs: 0, steps: 0, wall: 0, trans: 0 };
for (const [name, rc, wall, args = ''] of rows) {
  const cfg = `${arg(args, '--config') ?? 'fixed'}${arg(args, '--cpus') ? ` --cpus ${arg(args, '--cpus')}` : ''}${args.includes('--no-nmi') ? ' --no-nmi --no-faults' : ''}${['--max-commands', '--nesting', '--objects'].map((f) => (arg(args, f) ? ` ${f} ${arg(args, f)}` : '')).join('')}`;
  const file = join(dir, `${name}.json`);
  if (rc === 'skipped') { out.push(`| ${name} | ${cfg} | | | | | | | skipped (time) |`); continue; }
  if (!existsSync(file)) { out.push(`| ${name} | ${cfg} | | | | | ${wall} | ${rc} | no report${rc === '124' ? ' (timed out)' : ''} |`); continue; }
  const j = JSON.parse(readFileSync(file, 'utf8'));
  tot.wall += Number(wall);
  if (j.mode === 'exhaustive') {
    const r = j.results[0];
    tot.trans += r.transitions;
    const res = r.counterexample ? `VIOLATION ${r.counterexample.invariant}` : r.truncated ? `state cap hit, proved to depth ${r.provedDepth}` : `complete, proved to depth ${r.provedDepth}`;
    out.push(`| ${name} | ${cfg} | exhaustive BFS | depth ${j.depth} | ${n(r.transitions)} transitions | ${n(r.states)} | ${wall} | ${rc} | ${res} |`);
    continue;
  }
  const p = j.policies[0];
  const strat = arg(args, '--strategy') === 'pct' ? `PCT d=${arg(args, '--pct-depth') ?? 3}` : 'swarm (default)';
  tot.runs += p.runs; tot.steps += p.steps;
  const res = p.counterexample ? `VIOLATION ${p.counterexample.invariant}` : 'all invariants held';
  out.push(`| ${name} | ${cfg} | ${strat} seed ${arg(args, '--seed')} | ${n(p.runs)} | ${n(p.steps)} | ${n(p.distinctStates)} | ${wall} | ${rc} | ${res} |`);
  const group = `${cfg}, ${arg(args, '--strategy') === 'pct' ? `PCT d=${arg(args, '--pct-depth') ?? 3}` : 'swarm'}`;
  const g = cov.find(([k]) => k === group) ?? (cov.push([group, {}, 0, { seeds: [], cmds: 0, steps: 0, wall: 0, bad: 0 }]), cov.at(-1));
  for (const [k, v] of Object.entries(p.coverage)) g[1][k] = (g[1][k] ?? 0) + v;
  g[2] += p.runs;
  Object.assign(g[3], { cmds: g[3].cmds + 1, steps: g[3].steps + p.steps, wall: g[3].wall + Number(wall), bad: g[3].bad + (p.counterexample ? 1 : 0) });
  g[3].seeds.push(arg(args, '--seed'));
}
out.push(`\ntotal: ${n(tot.runs)} runs, ${n(tot.steps)} steps, ${n(tot.trans)} exhaustive transitions, ${n(Math.round(tot.wall))} s of command wall time\n`);

// --doc: one row per configuration and strategy, the hunt's situations as columns
const COLS = [
  ['`llist_del_first` raced by another CPU (on `free_by_rcu_ttrace` / `waiting_for_gp_ttrace`)', ['llist_del_first-raced-other-cpu', 'llist_del_first-raced-other-cpu:free_by_rcu_ttrace', 'llist_del_first-raced-other-cpu:waiting_for_gp_ttrace'], (v) => `${n(v[0])} (${n(v[1])} / ${n(v[2])})`],
  ['retry / ABA', ['llist_del_first-retry', 'llist_del_first-aba'], (v) => `${n(v[0])} / ${n(v[1])}`],
  ['`alloc_bulk()` reuses from `free_by_rcu_ttrace` / `waiting_for_gp_ttrace`', ['alloc_bulk-reuses:free_by_rcu_ttrace', 'alloc_bulk-reuses:waiting_for_gp_ttrace'], (v) => `${n(v[0])} / ${n(v[1])}`],
  ['draining set with callbacks in flight', ['draining-set-while-callbacks-in-flight'], (v) => n(v[0])],
  ['`do_call_rcu_ttrace()` on a draining cache: in progress / free now', ['do_call_rcu_ttrace-draining:in_progress', 'do_call_rcu_ttrace-draining:free_now'], (v) => `${n(v[0])} / ${n(v[1])}`],
  ['cross-CPU: object of another CPU freed / `free_bulk()` into other `tgt` / `__free_by_rcu()` into other `tgt`', ['free-of-other-cpu-object', 'free_bulk-into-other-cpu-tgt', '__free_by_rcu-into-other-cpu-tgt'], (v) => `${n(v[0])} / ${n(v[1])} / ${n(v[2])}`],
  ['`free_rcu`: into `free_llist_extra_rcu` / drained by `check_free_by_rcu()` / while `call_rcu_in_progress`', ['free_rcu-into-free_llist_extra_rcu', 'check_free_by_rcu-drains-free_llist_extra_rcu', 'check_free_by_rcu-while-call_rcu_in_progress'], (v) => `${n(v[0])} / ${n(v[1])} / ${n(v[2])}`],
];
const rank = (k) => ['rt, ', 'rt --cpus 3, ', 'rt --max', 'rt --cpus 3 --max', 'rt --no-nmi', 'rt --cpus 3 --no-nmi', 'fixed', 'percpu', 'buckets', 'wide'].findIndex((p) => k.startsWith(p));
cov.sort((a, b) => rank(a[0]) - rank(b[0]) || (a[0] < b[0] ? -1 : 1));
if (doc) {
  // the random searches grouped by configuration and strategy, then the exhaustive rows
  const exh = out.filter((l) => l.includes('exhaustive BFS'));
  out.length = 0;
  out.push('| configuration | strategy | commands (seeds) | runs | steps | wall s | violations |');
  out.push('| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const [name, , r, g] of cov) {
    const i = name.lastIndexOf(', ');
    out.push(`| ${name.slice(0, i)} | ${name.slice(i + 2)} | ${g.cmds} (${g.seeds.join(', ')}) | ${n(r)} | ${n(g.steps)} | ${n(Math.round(g.wall))} | ${g.bad} |`);
  }
  out.push(`| **all** | | ${cov.reduce((a, c) => a + c[3].cmds, 0)} | ${n(tot.runs)} | ${n(tot.steps)} | ${n(Math.round(cov.reduce((a, c) => a + c[3].wall, 0)))} | ${cov.reduce((a, c) => a + c[3].bad, 0)} |`);
  out.push('\nbounded exhaustive (BFS over every command list of the alphabet up to the depth, states keyed exactly):\n');
  out.push('| run | configuration | strategy | depth | transitions | states | wall s | exit | result |');
  out.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  out.push(...exh.map((l) => l.replace(/\| depth (\d+) \| ([\d,]+) transitions \|/, '| $1 | $2 |')));
  out.push('');
  out.push('situations reached, summed over the runs of each configuration and strategy:\n');
  out.push(`| configuration, strategy | runs | ${COLS.map(([h]) => h).join(' | ')} |`);
  out.push(`| --- | ---: | ${COLS.map(() => '---:').join(' | ')} |`);
  const all = ['all', {}, 0];
  for (const [, c, r] of cov) { all[2] += r; for (const [k, v] of Object.entries(c)) all[1][k] = (all[1][k] ?? 0) + v; }
  for (const [name, c, r] of [...cov, all]) out.push(`| ${name === 'all' ? '**all**' : name} | ${n(r)} | ${COLS.map(([, ks, f]) => f(ks.map((k) => c[k] ?? 0))).join(' | ')} |`);
  console.log(out.join('\n'));
  process.exit(0);
}
out.push('situations reached, summed over the runs of each configuration and strategy:\n');
out.push(`| situation | ${cov.map(([name, , r]) => `${name} (${n(r)} runs)`).join(' | ')} | total |`);
out.push(`| --- | ${cov.map(() => '---:').join(' | ')} | ---: |`);
for (const s of SITS) {
  const v = cov.map(([, c]) => c[s] ?? 0);
  out.push(`| \`${s}\` | ${v.map(n).join(' | ')} | ${n(v.reduce((a, b) => a + b, 0))} |`);
}
const other = new Set(doc ? [] : cov.flatMap(([, c]) => Object.keys(c)).filter((k) => !SITS.includes(k)));
for (const s of [...other].sort()) {
  const v = cov.map(([, c]) => c[s] ?? 0);
  out.push(`| \`${s}\` | ${v.map(n).join(' | ')} | ${n(v.reduce((a, b) => a + b, 0))} |`);
}
console.log(out.join('\n'));
