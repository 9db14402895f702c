// include/linux/gfp.h, the bits these paths read. A gfp is a bit set.
export const __GFP_DIRECT_RECLAIM = 1;
export const __GFP_KSWAPD_RECLAIM = 2;
export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const __GFP_NOMEMALLOC = 4;
export const __GFP_MEMALLOC = 8;
export const __GFP_NOWARN = 16;
export const __GFP_THISNODE = 32;

export const GFP_KERNEL = __GFP_RECLAIM;
export const GFP_ATOMIC = __GFP_KSWAPD_RECLAIM;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;

export type Gfp = number;

/** gfpflags_allow_blocking() */
export function gfpflagsAllowBlocking(gfp: Gfp): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

/** gfpflags_allow_spinning(): false only for kmalloc_nolock()'s gfp, which
 *  has no reclaim bit at all */
export function gfpflagsAllowSpinning(gfp: Gfp): boolean {
  return (gfp & __GFP_RECLAIM) !== 0;
}

/** gfp_pfmemalloc_allowed(): __GFP_MEMALLOC (or a PF_MEMALLOC task, which
 *  the users here express as __GFP_MEMALLOC) without __GFP_NOMEMALLOC */
export function gfpPfmemallocAllowed(gfp: Gfp): boolean {
  return (gfp & __GFP_NOMEMALLOC) === 0 && (gfp & __GFP_MEMALLOC) !== 0;
}

export function gfpName(gfp: Gfp): string {
  if (gfp === GFP_KERNEL) return 'GFP_KERNEL';
  const parts: string[] = [];
  if ((gfp & __GFP_RECLAIM) === __GFP_RECLAIM) parts.push('GFP_KERNEL');
  else if (gfp & __GFP_KSWAPD_RECLAIM) parts.push('GFP_NOWAIT');
  if (gfp & __GFP_MEMALLOC) parts.push('__GFP_MEMALLOC');
  if (gfp & __GFP_NOMEMALLOC) parts.push('__GFP_NOMEMALLOC');
  if (gfp & __GFP_NOWARN) parts.push('__GFP_NOWARN');
  return parts.join('|') || '0';
}
