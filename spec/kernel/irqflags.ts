// linux/irqflags.h: local_irq_save / local_irq_restore on the current CPU.
// local_irq_save() is not a step of its own: an interrupt just before it is
// an interrupt after the previous step. local_irq_restore() is: re-enabling
// IRQs is the point where a pending interrupt fires, so the restore ends a
// step and the scheduler may deliver the interrupt before the next one.
import { oneStep, type Context } from './context.ts';
import type { Gen } from './types.ts';

export function localIrqSave(x: Context): boolean {
  const cpu = x.k.cpus[x.cpu]!;
  const flags = cpu.irqsOff;
  cpu.irqsOff = true;
  return flags;
}

/** local_irq_restore(flags): `yield* localIrqRestore(x, flags)`. The flag
 *  is restored at the call (so a policy written before this was a step,
 *  calling it without `yield*`, still restores); delegating to the result
 *  makes the restore a step of its own, after which an interrupt may run. */
export function localIrqRestore(x: Context, flags: boolean): Gen<void> {
  // the CPU's own flag: no shared state (a footprint names none)
  x.op = 'local_irq_restore';
  x.k.cpus[x.cpu]!.irqsOff = flags;
  return oneStep(flags ? 'local_irq_restore(flags): IRQs stay off' : 'local_irq_restore(flags): IRQs on');
}
