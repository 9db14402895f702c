// linux/irqflags.h: local_irq_save / local_irq_restore on the current CPU.
// Not a memory access, so not a preemption point of its own; while IRQs are
// off the scheduler starts no hardirq, softirq or task on that CPU.
import type { Context } from './context.ts';

export function localIrqSave(x: Context): boolean {
  const cpu = x.k.cpus[x.cpu]!;
  const flags = cpu.irqsOff;
  cpu.irqsOff = true;
  return flags;
}

export function localIrqRestore(x: Context, flags: boolean): void {
  x.k.cpus[x.cpu]!.irqsOff = flags;
}
