// Helpers for the seed 003 tests: a booted percpu allocator on the small
// geometry, a chunk with a hand-written map, and sequential drivers.
import { ctx, drive, kernel } from '../../helpers/boot.ts';
import type { Context } from '../../../spec/kernel/context.ts';
import type { Kernel } from '../../../spec/kernel/kernel.ts';
import type { Obj } from '../../../spec/kernel/obj.ts';
import { allocPcpuChunk } from '../../../spec/percpu_chunk/alloc.ts';
import { pcpuChunkRelocate, type PcpuChunk } from '../../../spec/percpu_chunk/chunk.ts';
import type { PcpuOps } from '../../../spec/percpu_chunk/ops.ts';
import { DEFAULT_OPS } from '../../../spec/percpu_chunk/ops.ts';
import { makePcpu, pcpuAllocObj, pcpuFreeObj, SMALL_GEOM, type PcpuState } from '../../../spec/policies/percpu-chunk.ts';

export interface Rig {
  s: PcpuState;
  x: Context;
  alloc(size: number, align?: number): Obj | null;
  free(o: Obj): void;
  /** the audit's verdicts: [] when every structural invariant holds */
  audit(): string[];
  /** the map's own invariants only (hand-written maps have no live areas) */
  structural(): string[];
}

export function rig(ops: Partial<PcpuOps> = {}, cpus = 2): Rig {
  const k = kernel({ cpus });
  const s = makePcpu(k, SMALL_GEOM, { ...DEFAULT_OPS, ...ops });
  const x = ctx(k);
  return {
    s,
    x,
    alloc: (size, align = 1) => drive(pcpuAllocObj(x, s, size, align)).value,
    free: (o) => void drive(pcpuFreeObj(x, s, o)),
    audit: () => {
      const out: string[] = [];
      s.model.audit((inv, d) => out.push(`${inv}: ${d}`));
      return out;
    },
    structural: () => {
      const out: string[] = [];
      s.model.audit((inv, d) => {
        if (inv !== 'PcpuAreasMatchModel') out.push(`${inv}: ${d}`);
      });
      return out;
    },
  };
}

/** A dynamic chunk whose map is `map` (free_size from it; hint as given
 *  or the largest free entry), on the slot its state says. */
export function chunkWith(r: Rig, map: number[], hint?: number, mapAlloc = 16): PcpuChunk {
  const c = drive(allocPcpuChunk(r.x, r.s.p)).value!;
  c.map!.ents.length = 0;
  c.map!.ents.push(...map);
  c.map_used = map.length;
  c.map_alloc = mapAlloc;
  c.free_size = map.filter((e) => e > 0).reduce((a, b) => a + b, 0);
  c.contig_hint = hint ?? Math.max(0, ...map);
  drive(pcpuChunkRelocate(r.x, r.s.p, c, -1));
  r.s.p.addrTree.set(c.addr, c);
  return c;
}

export const used = (c: PcpuChunk): number[] => c.map!.ents.slice(0, c.map_used);

/** The n-th alloc_pages_node() from now fails (1 = the next one). */
export function failNthPage(k: Kernel, n: number): void {
  const fails = k.slab.fails.bind(k.slab);
  let seen = 0;
  k.slab.fails = (kind) => (kind === 'page' && ++seen === n) || fails(kind);
}
