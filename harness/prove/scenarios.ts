// Scenarios as data (spec/policies/scenario.ts): the schema a scenario
// must meet, checked before any search starts, each fault one line that
// names the policy, the scenario and the field (UsageError: exit 2).
import { z } from 'zod';
import type { Policy } from '../../spec/policies/policy.ts';
import type { Scenario } from '../../spec/policies/scenario.ts';
import { CONFIGS, type CheckConfig } from '../config.ts';
import { didYouMean, UsageError } from '../errors.ts';
import { fieldName } from '../fixture.ts';
import { faultKinds } from '../sim.ts';

const name = z.string().min(1).max(40).regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, _ . -');
const objName = z.string().min(1).max(20).regex(/^[A-Za-z0-9_]+$/, 'expected letters, digits, _');

const Prog = z.strictObject({
  op: z.enum(['alloc', 'free', 'free_rcu', 'lookup']),
  as: objName.optional(),
  obj: objName.optional(),
  req: z.number().int().min(0).max(15).optional(),
  sleepable: z.boolean().optional(),
});

const ScenarioSchema = z.strictObject({
  name,
  window: z.string().min(1),
  config: z.string().optional(),
  sizes: z.array(z.number().int().min(1).max(4096)).min(1).max(8).optional(),
  objects: z.number().int().min(1).max(1000).optional(),
  faults: z.boolean().optional(),
  cpus: z.array(z.array(Prog).max(16)).min(1).max(8),
  nmi: z.array(Prog.extend({ cpu: z.number().int().min(0) })).max(4).optional(),
  teardown: z.boolean().optional(),
  offline: z.boolean().optional(),
  inject: z.array(z.enum(['kmalloc', 'percpu', 'trylock', 'page'])).max(4).optional(),
});

/** The configuration a scenario runs under. */
export function scenarioConfig(s: Scenario): CheckConfig {
  const c: CheckConfig = { ...CONFIGS[s.config ?? 'fixed']! };
  if (s.sizes) c.allocSizes = [...s.sizes];
  if (s.objects !== undefined) c.objects = s.objects;
  if (s.faults !== undefined) c.faults = s.faults;
  return c;
}

/** Check one scenario of a policy: the schema, then what the schema cannot
 *  say (names defined before use, CPUs inside the configuration, the
 *  operations the policy has). */
export function validateScenario(policy: Policy<unknown>, raw: unknown, at: string): Scenario {
  const r = ScenarioSchema.safeParse(raw, { reportInput: true });
  if (!r.success) {
    const i = r.error.issues[0]!;
    const field = fieldName(i.path);
    throw new UsageError(`${at}: field '${field}': ${i.message}`);
  }
  const s = r.data as Scenario;
  const where = `${at} (${s.name})`;
  if (s.config !== undefined && !CONFIGS[s.config]) throw new UsageError(`${where}: field 'config': unknown configuration '${s.config}'${didYouMean(s.config, Object.keys(CONFIGS))}`);
  const cfg = scenarioConfig(s);
  if (s.sizes && cfg.size !== 0) throw new UsageError(`${where}: field 'sizes': the configuration ${cfg.name} has a fixed size (sizes go with a size-bucket configuration such as buckets)`);
  if (s.cpus.length > cfg.cpus) throw new UsageError(`${where}: field 'cpus': ${s.cpus.length} CPUs, the configuration ${cfg.name} has ${cfg.cpus}`);
  const defined = new Set<string>();
  const freed = new Set<string>();
  const check = (p: Scenario['cpus'][number][number], f: string): void => {
    if (p.req !== undefined) {
      if (p.op !== 'alloc') throw new UsageError(`${where}: field '${f}.req': only an alloc picks a request`);
      const n = policy.requests?.length ?? cfg.allocSizes.length;
      if (p.req >= Math.max(n, 1)) throw new UsageError(`${where}: field '${f}.req': request #${p.req}, but there are ${n || 1} (the configuration's sizes or the policy's requests)`);
    }
    if (p.op === 'alloc') {
      if (p.obj !== undefined) throw new UsageError(`${where}: field '${f}.obj': an alloc names what it gets with 'as'`);
      if (p.as !== undefined) {
        if (defined.has(p.as)) throw new UsageError(`${where}: field '${f}.as': '${p.as}' is named twice`);
        defined.add(p.as);
      }
      return;
    }
    if (p.as !== undefined) throw new UsageError(`${where}: field '${f}.as': only an alloc names an object`);
    if (p.obj === undefined) throw new UsageError(`${where}: field '${f}.obj': missing (which object does the ${p.op} take?)`);
    if (p.op === 'free_rcu' && typeof policy.freeRcu !== 'function') throw new UsageError(`${where}: field '${f}.op': ${policy.name} has no free_rcu`);
    if (policy.callers === 'syscall' && (p.op === 'free_rcu' || p.op === 'lookup')) throw new UsageError(`${where}: field '${f}.op': ${policy.name}'s callers are syscalls (alloc and free only)`);
    if (p.op !== 'lookup') {
      if (freed.has(p.obj)) throw new UsageError(`${where}: field '${f}.obj': '${p.obj}' is freed twice`);
      freed.add(p.obj);
    }
  };
  s.cpus.forEach((l, c) => l.forEach((p, i) => check(p, `cpus[${c}][${i}]`)));
  (s.nmi ?? []).forEach((p, i) => {
    if (p.cpu >= cfg.cpus) throw new UsageError(`${where}: field 'nmi[${i}].cpu': cpu${p.cpu} is outside the configuration (${cfg.cpus} CPUs)`);
    if (policy.callers === 'syscall') throw new UsageError(`${where}: field 'nmi[${i}]': ${policy.name}'s callers are syscalls (no NMI programs)`);
    if (p.op === 'lookup') throw new UsageError(`${where}: field 'nmi[${i}].op': an NMI program allocates or frees`);
    if (p.sleepable) throw new UsageError(`${where}: field 'nmi[${i}].sleepable': an NMI program does not sleep`);
    check(p, `nmi[${i}]`);
  });
  const used = [...s.cpus.flat(), ...(s.nmi ?? [])];
  for (const p of used) if (p.obj !== undefined && !defined.has(p.obj)) throw new UsageError(`${where}: '${p.obj}' is not named by any alloc${didYouMean(p.obj, [...defined])}`);
  if (s.offline && (cfg.cpus < 2 || !cfg.faults)) throw new UsageError(`${where}: field 'offline': the configuration ${cfg.name} cannot take a CPU offline`);
  const kinds = faultKinds(policy, cfg);
  (s.inject ?? []).forEach((f, i) => {
    if (!kinds.includes(f)) throw new UsageError(`${where}: field 'inject[${i}]': ${f} failures do not reach ${policy.name} in the configuration ${cfg.name} (${kinds.filter((k) => k !== 'cpu_offline').join(', ') || 'none'} do)`);
  });
  return s;
}

/** A policy's scenarios, validated (names unique). */
export function scenariosOf(policy: Policy<unknown>): Scenario[] {
  const list = policy.scenarios ?? [];
  if (!Array.isArray(list)) throw new UsageError(`${policy.name}: field 'scenarios': expected a list`);
  const seen = new Set<string>();
  return list.map((raw, i) => {
    const s = validateScenario(policy, raw, `${policy.name}: scenarios[${i}]`);
    if (seen.has(s.name)) throw new UsageError(`${policy.name}: scenarios[${i}]: the name '${s.name}' is used twice`);
    seen.add(s.name);
    return s;
  });
}
