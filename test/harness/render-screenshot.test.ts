// The HTML timeline of a zoo counterexample opened in headless Chromium.
// Skipped where no chromium is installed (CI machines need not have it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { findChromium, screenshot } from '../../scripts/screenshot.mjs';
import { makeFixture, tmp } from './fixture-helpers.ts';

const chromium = findChromium() as string | null;

describe('html timeline in headless chromium', () => {
  it.skipIf(!chromium)('renders the lanes to a 1400x1000 PNG (skipped where no chromium is on PATH)', () => {
    const dir = tmp();
    const { file } = makeFixture(dir);
    const png = join(dir, 'timeline.png');
    const r = screenshot(file, png) as { ok: boolean; reason?: string };
    expect(r.ok, r.reason).toBe(true);
    const b = readFileSync(png);
    expect(b.subarray(1, 4).toString()).toBe('PNG');
    // 1400 x 1000, as asked on the command line
    expect(b.readUInt32BE(16)).toBe(1400);
    expect(b.readUInt32BE(20)).toBe(1000);
  });
});
