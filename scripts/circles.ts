// Import circles among the package's modules (issue 19): a small walk over
// the runtime imports (`import type` does not count: it is erased) of every
// .ts file under spec/, model/ and harness/, and the strongly connected
// components of that graph. Prints each circle; with --check, exits 1 when
// there is a circle inside harness/ or one that crosses model/ and spec/.
//
//   npx tsx scripts/circles.ts [--check] [--runtime]
//
// By default every import counts (types and dynamic imports too: a
// dependency either way); --runtime counts the static runtime ones only.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The imports of a file (relative specifiers only): every one, types and
 *  dynamic imports included (a dependency either way), or with
 *  `runtimeOnly` the static runtime ones. */
export function importsOf(file: string, runtimeOnly = false): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  if (!runtimeOnly) {
    const dyn = /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;
    for (let m = dyn.exec(src); m; m = dyn.exec(src)) out.push(resolve(dirname(file), m[1]!));
  }
  const re = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    if (!runtimeOnly) {
      out.push(resolve(dirname(file), m[3]!));
      continue;
    }
    if (m[2]) continue; // import type / export type
    // `import { type A, type B } from` is erased too
    const clause = m[0];
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces && /^\s*import\s*\{/.test(clause) && braces[1]!.split(',').every((s) => !s.trim() || s.trim().startsWith('type '))) continue;
    out.push(resolve(dirname(file), m[3]!));
  }
  return out;
}

/** The circles (strongly connected components of more than one module, or
 *  a module importing itself), as paths relative to the repository. */
export function circles(runtimeOnly = false, roots: readonly string[] = ['spec', 'model', 'harness']): string[][] {
  const all = roots.flatMap((r) => files(join(ROOT, r)));
  const known = new Set(all);
  const edges = new Map<string, string[]>(all.map((f) => [f, importsOf(f, runtimeOnly).filter((t) => known.has(t))]));
  // Tarjan
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v)!) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        c.push(w);
        if (w === v) break;
      }
      if (c.length > 1 || edges.get(v)!.includes(v)) out.push(c.map((f) => relative(ROOT, f)).sort());
    }
  };
  for (const f of all) if (!idx.has(f)) visit(f);
  return out;
}

/** The circles the issue forbids: inside harness/, or across model/ and spec/. */
export function forbidden(cs: readonly string[][]): string[][] {
  return cs.filter((c) => c.some((f) => f.startsWith('harness/')) || (c.some((f) => f.startsWith('model/')) && c.some((f) => f.startsWith('spec/'))));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cs = circles(process.argv.includes('--runtime'));
  for (const c of cs) console.log(`circle (${c.length}): ${c.join(' -> ')}`);
  const bad = forbidden(cs);
  console.log(`${cs.length} circle(s), ${bad.length} forbidden (inside harness/, or across model/ and spec/)`);
  if (process.argv.includes('--check') && bad.length) process.exitCode = 1;
}
