import '../model/judges.ts';
import { CONFIGS } from '../harness/config.ts';
import { explore } from '../harness/explore.ts';
import { drainWithoutAbortReuseBug } from '../spec/policies/bug-drain-without-abort-reuse.ts';
import { reuseAfterRcuGp } from '../spec/policies/reuse-after-rcu-gp.ts';
const from = Number(process.argv[2] ?? 1), to = Number(process.argv[3] ?? 3);
const old = process.argv[4] === 'old';
const f = reuseAfterRcuGp.findings!;
const p = { ...drainWithoutAbortReuseBug, bug: { ...drainWithoutAbortReuseBug.bug!, behindFinding: true }, findings: old ? { ...f, known: f.known.map((k) => ({ ...k, last: false, match: () => true })) } : f };
for (let seed = from; seed <= to; seed++) {
  const t = performance.now();
  const r = explore(p, CONFIGS.fixed!, { seed, runs: 5000 });
  const cx = r.counterexample;
  console.log(`seed ${seed}: ${cx ? `${cx.invariant} at run ${r.runs}, ${cx.commands.length} commands: ${cx.message}` : 'not found'}; known ${JSON.stringify(r.findingHits)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
