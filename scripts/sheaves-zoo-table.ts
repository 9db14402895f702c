// The sheaves zoo table (docs/sheaves.md): for each bug/sheaves-* and
// bug/nolock-* variant, runs to find over seeds 1..N at the default
// budget (median, max) and the shrunk length.
//   npx tsx scripts/sheaves-zoo-table.ts [seeds]
import { DEFAULT_RUNS } from '../harness/cli.ts';
import { CONFIGS } from '../harness/config.ts';
import { explore } from '../harness/explore.ts';
import { ZOO } from '../spec/policies/index.ts';

const seeds = Number(process.argv[2] ?? 20);
const only = process.argv[3];
for (const p of ZOO.filter((z) => /^bug\/(sheaves|nolock)-/.test(z.name) && (!only || z.name.includes(only)))) {
  const cfg = CONFIGS[p.bug!.config ?? 'fixed']!;
  const found: number[] = [];
  const lengths: number[] = [];
  const invs = new Set<string>();
  const t0 = Date.now();
  for (let seed = 1; seed <= seeds; seed++) {
    const r = explore(p, cfg, { seed, runs: DEFAULT_RUNS });
    if (!r.counterexample) {
      found.push(Infinity);
      continue;
    }
    found.push(r.runs);
    lengths.push(r.counterexample.commands.length);
    invs.add(r.counterexample.invariant);
  }
  const sorted = [...found].sort((a, b) => a - b);
  const med = sorted[Math.floor((sorted.length - 1) / 2)];
  console.log(`| \`${p.name}\` | ${cfg.name} | ${med} | ${sorted.at(-1)} | ${Math.min(...lengths)}-${Math.max(...lengths)} | ${[...invs].join(', ')} | ${((Date.now() - t0) / 1000).toFixed(1)} s |`);
}
