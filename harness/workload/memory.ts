// What the benchmark reads from its cgroup, as the model sees it: the
// slab pages that hold the map's elements (and the RFC's bpf_reuse_batch
// structures), objects x unit size rounded up to whole slab pages per
// kmalloc cache. The per-CPU caches, the map's buckets and the programs
// are a constant the model leaves out (the benchmark's no_op shows it).
//
// Scaling back (harness/workload/constants.ts, SCALING): an object on a
// list whose length is set by a count is counted once; every other live
// object is waiting for time to pass (a grace period, the callback after
// it, a kworker and the grace period it starts) and is counted `scale`
// times.
import type { Machine } from './engine.ts';

/** Lists bounded by a count, not by time: free_llist and
 *  free_llist_extra between the watermarks (free_bulk() trims them),
 *  prepare_reuse_head (the kworker is kicked every high_watermark frees),
 *  reuse_ready_head (the kworker moves it on at each kick); for the other
 *  built-in designs, SLUB's per-CPU array (its capacity) and the slab
 *  user's NMI reserve (spec/slub/). */
export const COUNT_BOUND: ReadonlySet<string> = new Set(['free_llist', 'free_llist_extra', 'prepare_reuse_head', 'reuse_ready_head', 's->cpu_array', 'nmi_reserve']);

/** sizeof(struct bpf_reuse_batch) = 40 (c, head, tail, rcu_head): kmalloc-64 */
const REUSE_BATCH_KSIZE = 64;

export interface Sample {
  /** modelled ns */
  t: number;
  /** bytes of slab pages, scaled back */
  bytes: number;
  /** objects per kind of list (map: the map's own elements), scaled back */
  lists: Record<string, number>;
}

/** The kind of list a holder is: its field name (c[cpu0].free_llist ->
 *  free_llist), or bpf_reuse_batch for an RFC batch in flight. */
export function listKind(holder: string): string {
  if (holder.startsWith('batch')) return 'bpf_reuse_batch';
  // c[cpu0].free_llist -> free_llist; s->cpu_array[cpu1] -> s->cpu_array
  return holder.slice(holder.lastIndexOf('.') + 1).replace(/\[cpu\d+\]$/, '');
}

export function slabBytes(objects: number, ksize: number, pageSize: number): number {
  if (objects <= 0 || ksize <= 0) return 0;
  const perPage = Math.max(1, Math.floor(pageSize / ksize));
  return Math.ceil(objects / perPage) * pageSize;
}

export function measure(m: Machine, t: number, mapElems: number, scale: number, pageSize: number): Sample {
  const lists: Record<string, number> = { map: mapElems };
  let bounded = mapElems;
  for (const { name, objects: n } of m.lists()) {
    if (n === 0) continue;
    const kind = listKind(name);
    const once = COUNT_BOUND.has(kind);
    lists[kind] = (lists[kind] ?? 0) + (once ? n : n * scale);
    if (once) bounded += n;
  }
  // objects on no list: the map's (counted above) and those in flight
  // between lists inside a callback or kworker (none between contexts)
  const waiting = Math.max(0, m.live - bounded);
  const batches = m.structs('bpf_reuse_batch');
  if (batches) lists.bpf_reuse_batch_struct = batches * scale;
  const bytes = slabBytes(bounded + waiting * scale, m.ksize, pageSize) + slabBytes(batches * scale, REUSE_BATCH_KSIZE, pageSize);
  return { t, bytes, lists };
}
