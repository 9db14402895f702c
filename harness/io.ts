// Where a command writes: its output, its errors, and whether errors go to
// a terminal (progress lines then redraw in place).
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr is a terminal */
  tty: boolean;
}
