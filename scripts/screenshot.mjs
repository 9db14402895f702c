#!/usr/bin/env node
// Render the HTML timeline of a counterexample and screenshot it with
// headless Chromium:  node scripts/screenshot.mjs [FIXTURE] [OUT.png]
// (default: the first fixture under counterexamples/bug/, scratch/timeline.png).
// Needs a chromium binary (Debian: apt-get install -y chromium); exits 3
// with a message when there is none, so callers can skip.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function firstFixture(dir) {
  if (!existsSync(dir)) return null;
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const f = firstFixture(p);
      if (f) return f;
    } else if (e.name.endsWith('.json')) return p;
  }
  return null;
}

export function findChromium() {
  for (const name of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!name) continue;
    const r = spawnSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

export function screenshot(fixture, png) {
  const chromium = findChromium();
  if (!chromium) return { ok: false, reason: 'no chromium on PATH (apt-get install -y chromium)' };
  const work = mkdtempSync(join(tmpdir(), 'allocspec-shot-'));
  try {
    const html = join(work, 'timeline.html');
    // replay exits 1 when the violation reproduces: that is expected here
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/allocspec.mjs'), 'replay', '--format', 'html', '--out', html, fixture], { encoding: 'utf8' });
    if (r.status === 2 || !existsSync(html)) return { ok: false, reason: `replay failed: ${r.stderr.trim()}` };
    return shootHtml(html, png);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Screenshot an HTML file (any page: the workload chart too) in headless
 *  Chromium at the given window size. */
export function shootHtml(html, png, size = '1400,1000') {
  const chromium = findChromium();
  if (!chromium) return { ok: false, reason: 'no chromium on PATH (apt-get install -y chromium)' };
  const work = mkdtempSync(join(tmpdir(), 'allocspec-shot-'));
  try {
    execFileSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${join(work, 'profile')}`,
        `--screenshot=${resolve(png)}`,
        `--window-size=${size}`,
        pathToFileURL(resolve(html)).href,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 },
    );
    if (!existsSync(png) || statSync(png).size === 0) return { ok: false, reason: 'chromium wrote no screenshot' };
    return { ok: true, png: resolve(png) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const fixture = process.argv[2] ?? firstFixture(join(ROOT, 'counterexamples', 'bug'));
  const png = process.argv[3] ?? join(ROOT, 'scratch', 'timeline.png');
  if (!fixture) {
    console.error('screenshot: no fixture given and none under counterexamples/bug/');
    process.exit(2);
  }
  const r = screenshot(fixture, png);
  if (!r.ok) {
    console.error(`screenshot: ${r.reason}`);
    process.exit(3);
  }
  console.log(`screenshot: ${r.png}`);
}
