#!/usr/bin/env node
// The allocspec command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
// `allocspec ... | head`: a closed pipe ends the output, not with a stack trace
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}
// harness/policies.ts: policy files load through this loader (one module cache)
globalThis[Symbol.for('allocspec.tsxRegistered')] = true;
const { main } = await import('../harness/cli.ts');
process.exitCode = await main(process.argv.slice(2));
