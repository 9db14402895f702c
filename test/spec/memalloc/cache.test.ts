import { describe, expect, it } from 'vitest';
import { bpfMemCacheIdx, SIZES } from '../../../spec/memalloc/cache.ts';
import { prefillCount, watermarks } from '../../../spec/memalloc/init.ts';

// Reference: kmalloc's size classes without the 8-byte bucket, as memalloc.c
// describes them: the smallest of SIZES that fits (96 and 192 included).
function refIdx(size: number): number {
  if (!size || size > 4096) return -1;
  let best = -1;
  for (let i = 0; i < SIZES.length; i++) if (SIZES[i]! >= size && (best < 0 || SIZES[i]! < SIZES[best]!)) best = i;
  return best;
}

describe('bpf_mem_cache_idx()', () => {
  it('maps every size 1..4096 to the smallest bucket that fits', () => {
    for (let s = 1; s <= 4096; s++) expect([s, bpfMemCacheIdx(s)]).toEqual([s, refIdx(s)]);
  });
  it('rejects 0 and sizes above 4096', () => {
    expect(bpfMemCacheIdx(0)).toBe(-1);
    expect(bpfMemCacheIdx(4097)).toBe(-1);
  });
  it('uses the 96 and 192 buckets', () => {
    expect(SIZES[bpfMemCacheIdx(96)]).toBe(96);
    expect(SIZES[bpfMemCacheIdx(97)]).toBe(128);
    expect(SIZES[bpfMemCacheIdx(129)]).toBe(192);
    expect(SIZES[bpfMemCacheIdx(193)]).toBe(256);
  });
});

describe('prefill_mem_cache() watermarks', () => {
  it('uses 32/96 and batch 48 up to 256 bytes', () => {
    for (const u of [16, 32, 64, 96, 128, 192, 256]) expect(watermarks(u)).toEqual({ low: 32, high: 96, batch: 48 });
  });
  it('scales down for larger units as memalloc.c computes', () => {
    expect(watermarks(512)).toEqual({ low: 16, high: 48, batch: 24 });
    expect(watermarks(1024)).toEqual({ low: 8, high: 24, batch: 12 });
    expect(watermarks(2048)).toEqual({ low: 4, high: 12, batch: 6 });
    expect(watermarks(4096)).toEqual({ low: 2, high: 6, batch: 3 });
    expect(watermarks(8192)).toEqual({ low: 1, high: 3, batch: 1 });
  });
  it('prefills 4 objects up to 256 bytes, 1 above', () => {
    expect(prefillCount(256)).toBe(4);
    expect(prefillCount(257)).toBe(1);
  });
});
