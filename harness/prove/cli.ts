// `allocspec prove` on the command line: flags, then harness/prove/prove.ts.
import type { InvariantName } from '../../model/invariants.ts';
import type { Io } from '../check.ts';
import { didYouMean, parseFlags, UsageError } from '../errors.ts';
import { checkPath, userPath } from '../paths.ts';
import { parseShard } from '../shard.ts';
import { DEFAULT_MAX_EXECUTIONS, DEFAULT_PREEMPTIONS, DEFAULT_SPLIT, prove } from './prove.ts';
import { scenariosOf } from './scenarios.ts';

export const PROVE_HELP = `usage: allocspec prove [options]
  --policy NAME|FILE      policy to prove (repeatable; default: every correct built-in
                          policy with scenarios)
  --scenario NAME         only this scenario of each policy (repeatable; default: all)
  --preemptions N         preemption bound (default ${DEFAULT_PREEMPTIONS}): switches away from a CPU
                          whose context could go on, to another CPU or to one of the
                          kernel's arrivals (an RCU callback, a kworker, a grace period
                          end); the scenario's NMIs, teardown and hotplug arrive at every
                          point they may and are not counted
  --interrupts K          bound the kernel's arrivals by K on their own instead
  --max-executions N      executions per scenario at most (default ${DEFAULT_MAX_EXECUTIONS}); a scenario
                          that reaches it is truncated: not proved (exit 1)
  --no-dpor               plain DFS: every enabled choice at every point (no reduction)
  --json FILE             write the JSON report (- for stdout)
  --fixtures DIR          where counterexamples are saved (default ./counterexamples)
  --promise INVARIANT     also check an invariant the policy does not promise (repeatable)
  --shard I/N             search units I-1 mod N (a scenario, or with --split the subtrees
                          below a prefix depth); put the reports together with allocspec merge
  --split D               prefix depth of the units (default ${DEFAULT_SPLIT} with --shard, else 0)
  --quiet                 no line per scenario on stderr
  -h, --help              this text
paths are relative to the directory you run allocspec in
exit: 0 every scenario held and its search is complete
      1 a violation (its counterexample saved and printed first), or a scenario
        truncated by --max-executions (not proved)
      2 bad usage or bad input: a malformed scenario, an unknown policy (one line on stderr)`;

function int(name: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name}: expected a whole number ${range}, got '${v}'`);
  return Number(v);
}

export async function runProve(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parseFlags('prove', args, {
    policy: { type: 'string', multiple: true },
    scenario: { type: 'string', multiple: true },
    preemptions: { type: 'string' },
    interrupts: { type: 'string' },
    'max-executions': { type: 'string' },
    'no-dpor': { type: 'boolean' },
    json: { type: 'string' },
    fixtures: { type: 'string' },
    promise: { type: 'string', multiple: true },
    shard: { type: 'string' },
    split: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    io.out(PROVE_HELP + '\n');
    return 0;
  }
  if (positionals.length) throw new UsageError(`prove: unexpected argument '${positionals[0]}' (policies go with --policy; see allocspec prove --help)`);
  if (v.json !== undefined && v.json !== '-') checkPath('--json', String(v.json), 'file');
  checkPath('--fixtures', (v.fixtures as string | undefined) ?? 'counterexamples', 'dir');
  const preemptions = int('preemptions', v.preemptions as string | undefined, 0, 20) ?? DEFAULT_PREEMPTIONS;
  const interrupts = int('interrupts', v.interrupts as string | undefined, 0, 20) ?? null;
  const maxExecutions = int('max-executions', v['max-executions'] as string | undefined, 1) ?? DEFAULT_MAX_EXECUTIONS;
  const shard = v.shard !== undefined ? parseShard(String(v.shard)) : null;
  const split = int('split', v.split as string | undefined, 0, 50) ?? (shard ? DEFAULT_SPLIT : 0);
  // the spec loads only now: --help and bad usage answer without it
  const { isInvariant, INVARIANT_NAMES } = await import('../../model/invariants.ts');
  const { CORRECT_POLICIES } = await import('../../spec/policies/index.ts');
  const { resolvePolicy } = await import('../policies.ts');
  const promise: InvariantName[] = ((v.promise as string[] | undefined) ?? []).map((p) => {
    if (!isInvariant(p)) throw new UsageError(`--promise: unknown invariant '${p}'${didYouMean(p, INVARIANT_NAMES)}`);
    return p;
  });
  const policies = v.policy
    ? await Promise.all((v.policy as string[]).map((p) => resolvePolicy(p)))
    : CORRECT_POLICIES.filter((p) => (p.scenarios?.length ?? 0) > 0).map((policy) => ({ policy }));
  // every scenario is checked before any search starts
  const scenarios = (v.scenario as string[] | undefined) ?? [];
  const names = new Set<string>();
  for (const { policy } of policies) {
    const list = scenariosOf(policy);
    if (!list.length) throw new UsageError(`prove: ${policy.name} has no scenarios (a policy's 'scenarios' field, docs/policy-api.md)`);
    for (const s of list) names.add(s.name);
  }
  for (const s of scenarios) if (!names.has(s)) throw new UsageError(`--scenario: no scenario '${s}' in the policies chosen${didYouMean(s, [...names])}`);
  const json = v.json as string | undefined;
  const { exit } = prove(
    {
      policies,
      scenarios,
      preemptions,
      interrupts,
      dpor: !v['no-dpor'],
      maxExecutions,
      promise,
      fixturesDir: userPath((v.fixtures as string | undefined) ?? 'counterexamples'),
      ...(json !== undefined ? { json: json === '-' ? '-' : userPath(json) } : {}),
      stdout: io.out,
      quiet: !!v.quiet,
      shard,
      split,
    },
    json === '-' ? { ...io, out: io.err } : io,
  );
  return exit;
}
