#!/usr/bin/env node
// The allocspec command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
// harness/policies.ts: policy files load through this loader (one module cache)
globalThis[Symbol.for('allocspec.tsxRegistered')] = true;
const { main } = await import('../harness/cli.ts');
process.exitCode = await main(process.argv.slice(2));
