import { CONFIGS } from '../harness/config.ts';
import { exhaustive } from '../harness/exhaustive.ts';
import { ZOO } from '../spec/policies/index.ts';
for (const p of ZOO.filter((z) => /^bug\/(sheaves|nolock)-/.test(z.name))) {
  const t = Date.now();
  const cfg = CONFIGS[p.bug!.config ?? 'fixed']!;
  const r = exhaustive(p, cfg, { depth: 4 });
  console.log(p.name, r.counterexample?.invariant, r.counterexample?.commands.length, r.provedDepth, Date.now() - t, 'ms');
}
