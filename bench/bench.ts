// Placeholder replaced by the benchmark (issue 6).
import type { Io } from '../harness/check.ts';
export async function runBench(_args: string[], io: Io): Promise<number> {
  io.err('allocspec: bench is not implemented yet\n');
  return 2;
}
