// check --policy FILE type-checks the file against the package's types
// before loading it (harness/typecheck.ts): the first error is one line
// file:line:col: message, exit 2; a file that fits runs. (The packed
// install does the same: test/cli/packed.test.ts.)
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { userCwd } from '../../harness/paths.ts';
import { typecheckPolicy } from '../../harness/typecheck.ts';
import { captureIo } from '../helpers/io.ts';
import { REPO, tmpDirs } from './tmp.ts';

const tmp = tmpDirs();

/** The tutorial's policy, importing the checkout by absolute path. */
function tutorial(dir: string, name: string, edit: (s: string) => string = (s) => s): string {
  const src = readFileSync(join(REPO, 'docs', 'examples', 'my-policy.ts'), 'utf8').replaceAll("from 'allocspec/", `from '${REPO}/`);
  const f = join(dir, name);
  writeFileSync(f, edit(src));
  return f;
}

describe('check --policy FILE type-checks the file first', () => {
  it('a call that no longer fits the API: one line file:line:col: message, exit 2, nothing run', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const f = tutorial(dir, 'old-api.ts', (s) => s.replace('yield* localIrqRestore(x, flags);', 'yield* localIrqRestore(x);'));
    const io = captureIo();
    expect(await main(['check', '--policy', f, '--config', 'fixed', '--runs', '5', '--quiet', '--fixtures', join(dir, 'fx')], io)).toBe(2);
    const line = (relative(userCwd(), f) || f).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(io.stderr()).toMatch(new RegExp(`^${line}:\\d+:\\d+: Expected 2 arguments, but got 1\\.\\n$`));
    expect(io.stdout()).toBe('');
  });

  it('a file that fits type-checks clean (untyped parameters of its own are its business), twice from the cache', async () => {
    const dir = tmp();
    const f = tutorial(dir, 'ok.ts', (s) => `${s}\nexport const helper = (a, b) => a + b;\n`);
    await expect(typecheckPolicy(f)).resolves.toBeUndefined();
    await expect(typecheckPolicy(f)).resolves.toBeUndefined();
    // an edit is seen: the cache is keyed by content
    writeFileSync(f, readFileSync(f, 'utf8').replace("name: 'my-eager-refill'", 'name: 42'));
    await expect(typecheckPolicy(f)).rejects.toThrow(/ok\.ts:\d+:\d+: Type 'number' is not assignable to type 'string'/);
  });

  it('a JavaScript policy is not type-checked', async () => {
    const dir = tmp();
    const f = join(dir, 'p.mjs');
    writeFileSync(f, 'export default 1 + ;\n');
    await expect(typecheckPolicy(f)).resolves.toBeUndefined();
  });
});
