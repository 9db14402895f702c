// CI reports of a check: JUnit XML (one testsuite per policy, one testcase
// per invariant x configuration, the trace in the failure) and GitHub
// Actions annotations (workflow commands on stdout).

export interface CaseResult {
  invariant: string;
  config: string;
  /** violated here: the message, the trace, the fixture and its replay */
  failure?: { message: string; trace: string; fixture: string; replay: string; site?: { file: string; line: number } };
  /** a known finding of the policy's seed: reported, not failed */
  known?: string;
}

export interface SuiteResult {
  policy: string;
  cases: CaseResult[];
  /** seconds the policy's jobs took, when known */
  time?: number;
}

const xml = (s: string): string =>
  s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function renderJunit(suites: readonly SuiteResult[]): string {
  const count = (f: (c: CaseResult) => boolean): number => suites.reduce((a, s) => a + s.cases.filter(f).length, 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="allocspec check" tests="${count(() => true)}" failures="${count((c) => !!c.failure && !c.known)}" errors="0">`);
  for (const s of suites) {
    const failures = s.cases.filter((c) => c.failure && !c.known).length;
    out.push(`  <testsuite name="${xml(s.policy)}" tests="${s.cases.length}" failures="${failures}" errors="0" skipped="0"${s.time !== undefined ? ` time="${s.time.toFixed(3)}"` : ''}>`);
    for (const c of s.cases) {
      const open = `    <testcase classname="${xml(s.policy)}" name="${xml(`${c.invariant} [${c.config}]`)}"`;
      if (c.failure && !c.known) {
        const f = c.failure;
        out.push(`${open}>`);
        out.push(`      <failure message="${xml(f.message)}" type="${xml(c.invariant)}">${xml(`${f.message}\nfixture: ${f.fixture}\nreplay: ${f.replay}\n\n${f.trace}`)}</failure>`);
        out.push('    </testcase>');
      } else if (c.known) {
        out.push(`${open}>`);
        out.push(`      <system-out>${xml(`known finding: ${c.known}${c.failure ? `\nfixture: ${c.failure.fixture}\nreplay: ${c.failure.replay}` : ''}`)}</system-out>`);
        out.push('    </testcase>');
      } else out.push(`${open}/>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

/** GitHub Actions workflow commands: one error annotation per violation,
 *  on the user's policy file at the function where it fired when that is
 *  the user's code (harness/site.ts), else on the fixture file. */
export function githubAnnotations(suites: readonly SuiteResult[]): string {
  const esc = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const prop = (s: string): string => esc(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const out: string[] = [];
  for (const s of suites) {
    for (const c of s.cases) {
      if (!c.failure || c.known) continue;
      const at = c.failure.site ? `${prop(c.failure.site.file)},line=${c.failure.site.line}` : prop(c.failure.fixture);
      out.push(`::error file=${at},title=${prop(`allocspec: ${s.policy} violates ${c.invariant} [${c.config}]`)}::${esc(`${c.failure.message} (replay: ${c.failure.replay})`)}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}
