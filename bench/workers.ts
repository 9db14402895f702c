// Workers, measured fairly (issue 20): does `check --workers 2` cost more
// CPU than the same runs split over two processes?
//
//   npx tsx bench/workers.ts [--runs 5000,20000] [--pairs 5] [--policy bpf-ma]
//                            [--config fixed] [--out FILE]
//
// For each budget N, `pairs` interleaved pairs: (a) one process,
// `check --workers 2 --runs N --seed S`; (b) two processes at once,
// `check --workers 1 --runs N/2` with seeds S and S+1 (different seeds, as
// two CI jobs would). Within a pair the order alternates (a then b, b then
// a) so that a drift in the machine's load falls on both. Each process
// runs under /usr/bin/time: user + system CPU seconds of every thread, and
// peak resident memory. The figure is CPU-s per 1,000 runs, the median of
// the pairs; wall seconds and the load average before each run are kept
// (the machine may be shared: CPU time moves less with load than wall time
// does, but it moves). Both sides start from the same bundle and keep the
// hook watchdog; neither replays fixtures or writes any.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../harness/fixture.ts';

interface Proc {
  cpu: number;
  wall: number;
  rssMb: number;
  code: number;
}

/** Run `allocspec check ...` under /usr/bin/time. */
function check(args: string[], fixtures: string): Promise<Proc> {
  const stats = join(fixtures, `time-${process.hrtime.bigint()}.txt`);
  return new Promise((ok, fail) => {
    const p = spawn('/usr/bin/time', ['-f', '%U %S %e %M', '-o', stats, process.execPath, join(ROOT, 'bin', 'allocspec.mjs'), 'check', '--quiet', '--no-regress', '--fixtures', fixtures, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', fail);
    p.on('exit', (code) => {
      try {
        const [u, s, e, m] = readFileSync(stats, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number, number];
        if (code !== 0) return fail(new Error(`check ${args.join(' ')} exited ${code}: ${err.trim().split('\n').at(-1)}`));
        ok({ cpu: u + s, wall: e, rssMb: Math.round(m / 1024), code: code ?? -1 });
      } catch (e) {
        fail(e);
      }
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

export async function workersBench(o: { runs: number[]; pairs: number; policy: string; config: string; log?: (s: string) => void }) {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const fixtures = mkdtempSync(join(tmpdir(), 'allocspec-workers-'));
  // build the bundle first, so no measured run builds it
  execFileSync(process.execPath, [join(ROOT, 'bin', 'allocspec.mjs'), 'check', '--quiet', '--no-regress', '--fixtures', fixtures, '--policy', o.policy, '--config', o.config, '--runs', '10', '--workers', '1'], { stdio: 'ignore' });
  const base = ['--policy', o.policy, '--config', o.config];
  const out: Record<string, unknown>[] = [];
  try {
    for (const n of o.runs) {
      const threads: { cpu: number; wall: number; rssMb: number; load: number }[] = [];
      const procs: { cpu: number; wall: number; rssMb: number; load: number }[] = [];
      for (let i = 0; i < o.pairs; i++) {
        const seed = 1 + 2 * i;
        const a = async () => {
          const load = loadavg()[0]!;
          const p = await check([...base, '--runs', String(n), '--seed', String(seed), '--workers', '2'], fixtures);
          threads.push({ cpu: p.cpu, wall: p.wall, rssMb: p.rssMb, load });
          log(`  ${n} runs, pair ${i + 1}: one process, 2 threads: ${p.cpu.toFixed(2)} CPU-s, ${p.wall.toFixed(2)} s wall (load ${load.toFixed(2)})`);
        };
        const b = async () => {
          const load = loadavg()[0]!;
          const [p, q] = await Promise.all([
            check([...base, '--runs', String(n / 2), '--seed', String(seed), '--workers', '1'], fixtures),
            check([...base, '--runs', String(n / 2), '--seed', String(seed + 1), '--workers', '1'], fixtures),
          ]);
          procs.push({ cpu: p.cpu + q.cpu, wall: Math.max(p.wall, q.wall), rssMb: p.rssMb + q.rssMb, load });
          log(`  ${n} runs, pair ${i + 1}: two processes:         ${(p.cpu + q.cpu).toFixed(2)} CPU-s, ${Math.max(p.wall, q.wall).toFixed(2)} s wall (load ${load.toFixed(2)})`);
        };
        if (i % 2 === 0) {
          await a();
          await b();
        } else {
          await b();
          await a();
        }
      }
      const t = median(threads.map((x) => (x.cpu / n) * 1000));
      const p = median(procs.map((x) => (x.cpu / n) * 1000));
      const row = {
        runs: n,
        threadsCpuPer1k: r2(t),
        processesCpuPer1k: r2(p),
        /** how much more CPU two threads cost than two processes */
        threadsOverProcesses: r2(t / p - 1),
        threadsWall: r2(median(threads.map((x) => x.wall))),
        processesWall: r2(median(procs.map((x) => x.wall))),
        threadsRssMb: median(threads.map((x) => x.rssMb)),
        processesRssMb: median(procs.map((x) => x.rssMb)),
        loadAverages: [...threads, ...procs].map((x) => r2(x.load)),
        pairs: { threads: threads.map((x) => r2(x.cpu)), processes: procs.map((x) => r2(x.cpu)) },
      };
      log(`${n} runs: ${row.threadsCpuPer1k} CPU-s/1k runs (2 threads) vs ${row.processesCpuPer1k} (2 processes): ${Math.round(row.threadsOverProcesses * 100)}% more`);
      out.push(row);
    }
  } finally {
    rmSync(fixtures, { recursive: true, force: true });
  }
  return {
    what: `check --workers 2 (one process) against two processes of --workers 1 with N/2 runs each and different seeds; ${o.policy} [${o.config}]; CPU = user + system of every thread (/usr/bin/time), median of ${o.pairs} interleaved pairs`,
    node: process.version,
    rows: out,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').at(-1)!)) {
  const { values: v } = parseArgs({ options: { runs: { type: 'string' }, pairs: { type: 'string' }, policy: { type: 'string' }, config: { type: 'string' }, out: { type: 'string' } }, strict: true });
  const r = await workersBench({
    runs: (v.runs ?? '5000,20000').split(',').map(Number),
    pairs: Number(v.pairs ?? 5),
    policy: v.policy ?? 'bpf-ma',
    config: v.config ?? 'fixed',
  });
  const text = JSON.stringify(r, null, 2) + '\n';
  writeFileSync(v.out ?? join(ROOT, 'bench', 'workers-results.json'), text);
  process.stdout.write(text);
}
