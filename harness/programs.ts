// What runs in the contexts the harness starts: a BPF program (task level
// or perf-event NMI), and the map teardown (htab_map_free frees what the map
// still owns, then bpf_mem_alloc_destroy()).
import type { Context } from '../spec/kernel/context.ts';
import type { Obj } from '../spec/kernel/obj.ts';
import { rcuReadLock, rcuReadLockTrace, rcuReadUnlock, rcuReadUnlockTrace } from '../spec/kernel/rcupdate.ts';
import type { Gen } from '../spec/kernel/types.ts';
import type { Policy } from '../spec/policies/policy.ts';
import type { AbstractAllocator } from '../model/allocator.ts';
import type { Op } from './commands.ts';

export interface ProgArgs {
  op: Op;
  obj: Obj | null;
  size: number;
  sleepable: boolean;
}

/** A BPF program: one RCU read-side critical section around one call. */
export function* bpfProg(x: Context, policy: Policy<unknown>, s: unknown, model: AbstractAllocator, a: ProgArgs): Gen<void> {
  if (a.sleepable) rcuReadLockTrace(x);
  else rcuReadLock(x);
  switch (a.op) {
    case 'alloc': {
      const obj = yield* policy.alloc(x, s, a.size);
      if (obj) model.allocated(x, obj);
      break;
    }
    case 'free':
      yield* policy.free(x, s, a.obj!);
      break;
    case 'lookup': {
      // bpf_map_lookup_elem(): keep the pointer, read it later in this run
      const obj = a.obj!;
      x.refs.push(obj);
      x.touched = obj.name;
      yield `lookup ${obj.name}`;
      x.touched = obj.name;
      yield `read ${obj.name}`;
      break;
    }
  }
  if (a.sleepable) rcuReadUnlockTrace(x);
  else rcuReadUnlock(x);
  x.refs.length = 0;
}

/** The map is freed: its remaining elements go back through the free
 *  path, then the allocator is destroyed. */
export function* mapFree(x: Context, policy: Policy<unknown>, s: unknown, model: AbstractAllocator): Gen<void> {
  x.fns.push('map_free');
  for (const obj of [...model.owned]) {
    model.released(obj);
    yield* policy.free(x, s, obj);
  }
  yield* policy.destroy(x, s);
  x.fns.pop();
}
