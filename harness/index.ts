// The package root (`import { checkPolicy, assertPolicy } from 'allocspec'`):
// check a policy from a program or a test, the way the CLI does, with the
// counterexample saved as a fixture and a command that replays it.
import type { InvariantName } from '../model/invariants.ts';
import { isInvariant } from '../model/invariants.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { Io } from './io.ts';
import { CONFIGS, DEFAULT_PROFILE, type CheckConfig } from './config.ts';
import { UsageError } from './errors.ts';
import { userPath } from './paths.ts';
import { resolvePolicy } from './policies.ts';
import type { CheckReport, PolicyReport } from './report.ts';
import { checkJobs } from './check.ts';

export type { Policy, Situation } from '../spec/policies/policy.ts';
export { definePolicy } from '../spec/policies/policy.ts';
export type { CheckConfig } from './config.ts';
export type { CheckReport, PolicyReport } from './report.ts';
export { CONFIGS, DEFAULT_PROFILE } from './config.ts';

export interface CheckPolicyOptions {
  /** configurations by name or as objects (default: the CLI's default profile) */
  configs?: (string | CheckConfig)[];
  /** fast-check seed of the first configuration (default 1) */
  seed?: number;
  /** runs per configuration (default 1000: a test-sized budget) */
  runs?: number;
  /** invariants to check beyond those the policy promises */
  promise?: InvariantName[];
  /** where counterexamples are saved and replayed from first (default
   *  ./counterexamples, relative to the working directory) */
  fixturesDir?: string;
  /** replay the policy's saved counterexamples first (default true) */
  regress?: boolean;
  /** worker threads (default 1: in this thread, so a policy object defined
   *  in the test itself works; more threads need a policy name or file) */
  workers?: number;
  /** seconds a hook may run without yielding (needs a worker; default 0) */
  hookTimeout?: number;
  /** receives what the CLI would print (default: nothing is printed) */
  io?: Io;
}

export interface Failure {
  policy: string;
  invariant: string;
  config: string;
  message: string;
  seed: number;
  path: string;
  /** the saved fixture, relative to the working directory when inside it */
  fixture: string;
  /** the command that replays it */
  replay: string;
  /** the rendered trace */
  trace: string;
}

export interface CheckPolicyResult {
  /** what `allocspec check --json` writes */
  report: CheckReport;
  /** the policy's own report */
  policy: PolicyReport;
  /** 0: every invariant held (known findings included), 1: a violation */
  exit: 0 | 1;
  /** violations that fail the check, first configuration first */
  failures: Failure[];
  /** the CLI's text output */
  output: string;
}

const DEFAULT_API_RUNS = 1000;

/** Check one policy (an object, a built-in name, or a file path relative
 *  to the working directory). Resolves with the report; bad options or a
 *  broken policy reject with the CLI's one-line error. */
export async function checkPolicy(policy: Policy<any> | string, options: CheckPolicyOptions = {}): Promise<CheckPolicyResult> {
  const resolved = typeof policy === 'string' ? await resolvePolicy(policy) : { policy: policy as Policy<unknown> };
  const configs = (options.configs ?? DEFAULT_PROFILE).map((c) => {
    if (typeof c !== 'string') return { ...c };
    const found = CONFIGS[c];
    if (!found) throw new UsageError(`configs: unknown configuration '${c}' (known: ${Object.keys(CONFIGS).join(', ')})`);
    return { ...found };
  });
  for (const p of options.promise ?? []) if (!isInvariant(p)) throw new UsageError(`promise: unknown invariant '${String(p)}'`);
  let text = '';
  const capture: Io = { out: (s) => void (text += s), err: () => {}, tty: false };
  const io: Io = options.io ? { out: (s) => (capture.out(s), options.io!.out(s)), err: options.io.err, tty: options.io.tty } : capture;
  const { report, exit, saved } = await checkJobs(
    {
      policies: [resolved],
      configs,
      seed: options.seed ?? 1,
      runs: options.runs ?? DEFAULT_API_RUNS,
      promise: options.promise ?? [],
      fixturesDir: userPath(options.fixturesDir ?? 'counterexamples'),
      quiet: true,
    },
    io,
    { workers: options.workers ?? 1, shard: null, strategy: 'uniform', hookTimeout: (options.hookTimeout ?? 0) * 1000, regress: options.regress ?? true, progress: false },
  );
  const rep = report.policies[0]!;
  const failures: Failure[] = [];
  if (exit === 1) {
    for (const [key, s] of saved) {
      const [, config] = key.split('|') as [string, string];
      const cx = s.counterexample;
      failures.push({ policy: resolved.policy.name, invariant: cx.invariant, config, message: cx.message, seed: cx.seed, path: cx.path, fixture: s.shown, replay: s.replay, trace: s.trace });
    }
    const order = configs.map((c) => c.name);
    failures.sort((a, b) => order.indexOf(a.config) - order.indexOf(b.config));
  }
  return { report, policy: rep, exit: exit ? 1 : 0, failures, output: text };
}

/** An assertion for vitest or jest: resolves when the policy holds every
 *  invariant, rejects otherwise with the rendered trace, the fixture path
 *  and the replay command in the message (as fc.assert reports its seed). */
export async function assertPolicy(policy: Policy<any> | string, options: CheckPolicyOptions = {}): Promise<CheckPolicyResult> {
  const r = await checkPolicy(policy, options);
  if (r.exit === 0) return r;
  const first = r.failures[0];
  const name = typeof policy === 'string' ? policy : policy.name;
  const msg = first
    ? `allocspec: policy ${first.policy} violates ${first.invariant} (config ${first.config}, seed ${first.seed}, path ${first.path})\n` +
      `  fixture: ${first.fixture}\n  replay: ${first.replay}\n` +
      (r.failures.length > 1 ? `  also: ${r.failures.slice(1).map((x) => `${x.invariant} [${x.config}] ${x.fixture}`).join('; ')}\n` : '') +
      `\n${first.trace}`
    : `allocspec: policy ${name} failed its check (a saved counterexample still violates)\n\n${r.output}`;
  throw new PolicyCheckError(msg, r);
}

export class PolicyCheckError extends Error {
  override name = 'PolicyCheckError';
  constructor(
    message: string,
    readonly result: CheckPolicyResult,
  ) {
    super(message);
  }
}
