// verifier.c: check_kfunc_call() for bpf_percpu_obj_new after seed 000.
// The global percpu allocator is created on the first such call and each
// object size gets its unit on the first program that needs it, both under
// bpf_percpu_ma_lock, while several BPF_PROG_LOADs verify concurrently.
// A load is a syscall at task level; a kworker plays it in the harness.
import { Cell, load, store } from '../kernel/atomic.ts';
import { kfunc, type Context } from '../kernel/context.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { Mutex, mutexLock, mutexUnlock } from '../kernel/mutex.ts';
import { runToEnd } from '../kernel/sched.ts';
import type { Gen, Owner } from '../kernel/types.ts';
import { queueWork, Work } from '../kernel/workqueue.ts';
import { BpfMemAlloc, bpfMemCacheIdx } from '../memalloc/cache.ts';
import { bpfMemAllocPercpuInit, bpfMemAllocPercpuUnitInit } from './init.ts';

/** The verifier's globals: bpf_global_percpu_ma, its _set flag and lock,
 *  and the program loads in flight (one per CPU and size). */
export class Verifier implements Owner {
  freed = false;
  readonly name = 'verifier';
  readonly ma = new BpfMemAlloc();
  readonly bpf_global_percpu_ma_set: Cell;
  readonly bpf_percpu_ma_lock: Mutex;
  /** sizes (bucket index) of programs whose load succeeded */
  readonly loaded = new Set<number>();
  readonly loads = new Map<string, Work>();
  constructor(k: Kernel) {
    this.bpf_global_percpu_ma_set = new Cell(this, 'bpf_global_percpu_ma_set');
    this.bpf_percpu_ma_lock = new Mutex(this, 'bpf_percpu_ma_lock');
    k.cells.push(this.bpf_global_percpu_ma_set);
  }
}

/** check_kfunc_call(), KF_bpf_percpu_obj_new_impl with ret_t->size == size. */
export const checkPercpuObjNew = kfunc('check_kfunc_call', function* (x: Context, v: Verifier, size: number): Gen<number> {
  if (!(yield* load(x, v.bpf_global_percpu_ma_set))) {
    yield* mutexLock(x, v.bpf_percpu_ma_lock);
    let err = 0;
    if (!(yield* load(x, v.bpf_global_percpu_ma_set))) {
      err = yield* bpfMemAllocPercpuInit(x, v.ma);
      if (!err) yield* store(x, v.bpf_global_percpu_ma_set, 1);
    }
    yield* mutexUnlock(x, v.bpf_percpu_ma_lock);
    if (err) return err;
  }
  yield* mutexLock(x, v.bpf_percpu_ma_lock);
  const err = yield* bpfMemAllocPercpuUnitInit(x, v.ma, size);
  yield* mutexUnlock(x, v.bpf_percpu_ma_lock);
  return err;
});

/** bpf_prog_load() of a program calling bpf_percpu_obj_new(size). */
export function* bpfProgLoad(x: Context, v: Verifier, size: number): Gen<number> {
  const err = yield* checkPercpuObjNew(x, v, size);
  if (!err) v.loaded.add(bpfMemCacheIdx(size));
  yield `bpf_prog_load(percpu_obj_new(${size})) = ${err}`;
  return err;
}

function loadWork(v: Verifier, cpu: number, size: number): Work {
  const key = `${cpu}:${size}`;
  let w = v.loads.get(key);
  if (!w) {
    w = new Work(v, `load[cpu${cpu}][${size}]`, function* (y) {
        yield* bpfProgLoad(y, v, size);
      }, 'bpf_prog_load');
    v.loads.set(key, w);
  }
  return w;
}

/** Queue the load of a program of this size on x's CPU. */
export function* requestLoad(x: Context, v: Verifier, size: number): Gen<void> {
  yield* queueWork(x, loadWork(v, x.cpu, size));
}

/** Boot: a program of this size is being loaded on every CPU at once. */
export function queueLoadsAtBoot(k: Kernel, v: Verifier, size: number): void {
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) runToEnd(queueWork(k.context(cpu, 'task', 'boot'), loadWork(v, cpu, size)));
}
