// A capturing Io for calling the CLI's main() in-process.
import type { Io } from '../../harness/check.ts';

export function captureIo(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    tty: false,
    stdout: () => out,
    stderr: () => err,
  };
}
