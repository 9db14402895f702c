// The workload's --html chart opened in headless Chromium: the page
// renders, and the flavours' line colours are on the screenshot.
// Skipped where no chromium is installed (CI machines need not have it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
// @ts-expect-error: a plain .mjs script without type declarations
import { findChromium, shootHtml } from '../../scripts/screenshot.mjs';
import { captureIo } from '../helpers/io.ts';
import { tmpDirs } from '../cli/tmp.ts';

const chromium = findChromium() as string | null;
const tmp = tmpDirs();

/** How many pixels of each RGB colour a PNG has (8-bit RGB or RGBA, no
 *  interlace). */
function colours(png: Buffer): Map<number, number> {
  const w = png.readUInt32BE(16);
  const h = png.readUInt32BE(20);
  const bpp = png[25] === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let i = 8; i < png.length; ) {
    const len = png.readUInt32BE(i);
    if (png.toString('latin1', i + 4, i + 8) === 'IDAT') idat.push(png.subarray(i + 8, i + 8 + len));
    i += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  const out = new Map<number, number>();
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp]! : 0;
      const b = prev[x]!;
      const c = x >= bpp ? prev[x - bpp]! : 0;
      const v = raw[y * (stride + 1) + 1 + x]!;
      const p = a + b - c;
      const pred = f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : f === 4 ? (Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c) : 0;
      cur[x] = (v + pred) & 255;
    }
    for (let x = 0; x < stride; x += bpp) {
      const rgb = (cur[x]! << 16) | (cur[x + 1]! << 8) | cur[x + 2]!;
      out.set(rgb, (out.get(rgb) ?? 0) + 1);
    }
    cur.copy(prev);
  }
  return out;
}

describe('workload chart in headless chromium', () => {
  it.skipIf(!chromium)('renders the lines of each flavour (skipped where no chromium is on PATH)', async () => {
    const dir = tmp();
    const html = join(dir, 'w.html');
    const io = captureIo();
    const args = ['workload', '--use-case', 'overwrite', '--policy', 'kmalloc-call-rcu', '--policy', 'bpf-ma', '--cpus', '2', '--seconds', '0.05', '--scale', '128', '--jobs', '1', '--html', html];
    expect(await main(args, io), io.stderr()).toBe(0);
    const png = join(dir, 'w.png');
    const r = shootHtml(html, png, '1300,700') as { ok: boolean; reason?: string };
    expect(r.ok, r.reason).toBe(true);
    const b = readFileSync(png);
    expect(b.subarray(1, 4).toString()).toBe('PNG');
    expect([b.readUInt32BE(16), b.readUInt32BE(20)]).toEqual([1300, 700]);
    const seen = colours(b);
    // the first two series colours of harness/workload/chart.ts: more
    // pixels than the legend's 24x3 sample, so the line itself is drawn
    expect(seen.get(0x1f77b4) ?? 0, 'kmalloc-call-rcu blue').toBeGreaterThan(300);
    expect(seen.get(0xd62728) ?? 0, 'bpf-ma red').toBeGreaterThan(300);
  });
});
