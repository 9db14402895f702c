// NUMA topology of the modelled machine (linux/topology.h): which node
// each CPU sits on, and which nodes have memory (N_MEMORY). Without
// CONFIG_HAVE_MEMORYLESS_NODES numa_mem_id() is the CPU's own node even
// when that node has no memory, so a per-node structure of a memoryless
// node does not exist (get_node() returns NULL there).
//
// The topology follows from the number of CPUs, so that every
// configuration has one without a knob of its own:
//   2 CPUs   node0 {cpu0}, node1 {cpu1}, both with memory: remote objects
//            and two per-node structures exist;
//   3+ CPUs  the CPUs alternate over node0 and node1 except the last one,
//            which sits alone on node2, a node without memory.
// Pages come from the node asked for, or from the nearest node with memory
// (node0) when that one has none (or none was asked for from a CPU on a
// memoryless node).
import type { Kernel } from './kernel.ts';
import { shared } from './types.ts';

export const NUMA_NO_NODE = -1;

export interface Numa {
  /** nr_node_ids */
  readonly nodes: number;
  /** cpu_to_node() */
  readonly nodeOf: readonly number[];
  /** node_state(node, N_MEMORY) */
  readonly hasMemory: readonly boolean[];
}

const topologies = shared('numa', () => new WeakMap<Kernel, Numa>());

export function numa(k: Kernel): Numa {
  let t = topologies.get(k);
  if (t) return t;
  const n = k.cfg.cpus;
  if (n <= 2) t = { nodes: n, nodeOf: Array.from({ length: n }, (_, i) => i), hasMemory: Array.from({ length: n }, () => true) };
  else t = { nodes: 3, nodeOf: Array.from({ length: n }, (_, i) => (i === n - 1 ? 2 : i % 2)), hasMemory: [true, true, false] };
  topologies.set(k, t);
  return t;
}

/** numa_mem_id() on cpu (no CONFIG_HAVE_MEMORYLESS_NODES: numa_node_id()) */
export function numaMemId(k: Kernel, cpu: number): number {
  return numa(k).nodeOf[cpu]!;
}

/** The node a page allocation for `node` (or NUMA_NO_NODE from cpu) gets
 *  its page from. */
export function pageNode(k: Kernel, cpu: number, node: number): number {
  const t = numa(k);
  const want = node === NUMA_NO_NODE ? t.nodeOf[cpu]! : node;
  return t.hasMemory[want] ? want : 0;
}
