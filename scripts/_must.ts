import '../model/judges.ts';
import { CONFIGS } from '../harness/config.ts';
import { explore } from '../harness/explore.ts';
import { findPolicy } from '../spec/policies/index.ts';
import type { Policy } from '../spec/policies/policy.ts';
import { pcpuFreeSkipsRelocate } from '../spec/policies/bug-pcpu-free-skips-relocate.ts';
import { reuseCbReadsAbortUnlocked } from '../spec/policies/bug-reuse-cb-reads-abort-unlocked.ts';
const which = process.argv[2]!;
const from = Number(process.argv[3] ?? 1), to = Number(process.argv[4] ?? 3);
const p: Policy<any> = which === 'pcpu' ? pcpuFreeSkipsRelocate : which === 'reuse' ? reuseCbReadsAbortUnlocked : findPolicy(which)!;
const old = process.argv[5] === 'old';
const pol = old ? { ...p, findings: { ...p.findings!, known: p.findings!.known.map((k) => ({ ...k, last: false, match: () => true })) } } : p;
for (let seed = from; seed <= to; seed++) {
  const t = performance.now();
  const r = explore(pol, CONFIGS.fixed!, { seed, runs: 5000 });
  const cx = r.counterexample;
  console.log(`seed ${seed}: ${cx ? `${cx.invariant} at run ${r.runs}, ${cx.commands.length} commands: ${cx.message}` : 'not found'}; known ${JSON.stringify(r.findingHits)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
