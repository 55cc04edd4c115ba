/**
 * Replication bench (issue 3): 4 real nodes on 127.0.0.1 with static peers.
 *
 *   npm run bench:replication
 *
 * 1. Latency: 200 uploads of ~200 KB pictures at node 1, one at a time; for each, the time from
 *    the 201 at node 1 until GET /api/pictures/:id answers 200 at every one of nodes 2-4 (the
 *    picture is visible only once its bytes are there). Polled every 5 ms per node.
 * 2. Catch-up: node 4 is stopped, 300 pictures (~60 MB) are uploaded at node 1, node 4 is
 *    started again once nodes 1-3 are quiet; the time until it shows all of them gives
 *    pictures/s and MB/s.
 * Prints figures; asserts nothing.
 *
 * BENCH_LATENCY_UPLOADS=N (default 200, at least 2) shortens part 1, BENCH_CATCHUP_UPLOADS=N
 * (default 300) sizes part 2; BENCH_CATCHUP_RUNS=N catches up N times, each from the same copy of
 * node 4's data directory (figures: medians; each run printed with its load average, its times
 * from spawn, the CPU per MB of node 4 (and split by thread: its JavaScript, V8's GC and compiler
 * threads, the others) and of nodes 1-3, read from /proc, and node 4's sampled RSS peak);
 * BENCH_CATCHUP_BINS=a/bin/mosaic.js,b/bin/mosaic.js runs node 4 from those builds in turn (old
 * against new, back to back); BENCH_PROFILE_DIR=dir starts every node with `--cpu-prof` into
 * that directory (written when it stops; each catch-up run's window in n1-3's profiles printed;
 * BENCH_HEAP_PROFILE=1: node 4 samples every allocation instead, collected or not); BENCH_N4_LOG=file keeps node 4's debug
 * log lines there, each after the ms since its spawn. Node 4's RSS is read once it is idle
 * before its stop, and sampled every 50 ms while it catches up.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, openAsBlob } from 'node:fs';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSmallPhotoJpeg } from './lib/images.js';
import {
  MOSAIC_BIN,
  freePort,
  meshArgs,
  peakRssMb,
  rssMb,
  startBenchNode,
  type BenchNode,
} from './lib/nodes.js';
import { threadCpuSeconds, treeCpuSeconds, type ThreadCpu } from './lib/cpu.js';
import { MB, formatTable, median, percentile, round, runPool, sum } from './lib/stats.js';

const LATENCY_UPLOADS = Math.max(2, Number(process.env['BENCH_LATENCY_UPLOADS'] ?? 200));
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];
/** With BENCH_PROFILE_DIR: node 4 samples its allocations (lib/heap-sample.ts), not its CPU. */
const HEAP_PROFILE = process.env['BENCH_HEAP_PROFILE'] === '1';
const HEAP_SAMPLER = fileURLToPath(new URL('./lib/heap-sample.js', import.meta.url));
const CATCHUP_UPLOADS = Math.max(1, Number(process.env['BENCH_CATCHUP_UPLOADS'] ?? 300));
/** Catch-ups of node 4, each from the same copy of its data (the figures are their medians). */
const CATCHUP_RUNS = Math.max(1, Number(process.env['BENCH_CATCHUP_RUNS'] ?? 1));
/** Builds node 4 runs, in turn (comma-separated bin/mosaic.js paths; default this one). */
const CATCHUP_BINS = (process.env['BENCH_CATCHUP_BINS'] ?? MOSAIC_BIN).split(',').filter(Boolean);
/** Node 4's log lines, each after the ms since its spawn, appended to this file. */
const N4_LOG = process.env['BENCH_N4_LOG'];
const SYNC_INTERVAL_MS = 2000;

interface CatchupRun {
  readonly node: BenchNode;
  readonly bin: string;
  /** Spawn to "node listening", to signed in, to the first and to the last picture listed. */
  readonly listeningMs: number;
  readonly upMs: number;
  readonly firstMs: number;
  readonly totalMs: number;
  /** CPU seconds of node 4 at "listening" and at the end; of nodes 1-3 during the run. */
  readonly startCpuS: number;
  readonly cpuS: number;
  readonly serversCpuS: number;
  /** Node 4's CPU seconds from "listening" to the end, by thread group (bench/lib/cpu.ts). */
  readonly threads: ThreadCpu;
  readonly rssMb: number;
  readonly load: number;
}

/**
 * Starts node 4 (the build `bin`) and waits until it lists `target` pictures. The CPU of both
 * sides comes from /proc: it stays steady on a loaded machine where wall time does not.
 */
async function catchUp(
  args: string[],
  target: number,
  servers: number[],
  bin: string,
  run: number,
  /** Node 4's session from before its stop (its data keeps it): no sign-in during the run. */
  cookie: string,
): Promise<Omit<CatchupRun, 'upMs'> & { upMs: number }> {
  const load = loadavg()[0] ?? 0;
  const serversBefore = sum(await treeCpuSeconds(servers));
  let listeningMs = 0;
  const t0 = performance.now();
  const node = await startBenchNode(
    N4_LOG === undefined ? args : [...args, '--log-level', 'debug'],
    PROFILE_DIR === undefined
      ? {}
      : {
          ...(HEAP_PROFILE
            ? {
                NODE_OPTIONS: `--import ${HEAP_SAMPLER}`,
                BENCH_HEAP_SAMPLE_FILE: join(PROFILE_DIR, `n4-${run}.heapprofile`),
              }
            : {
                NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR} --cpu-prof-name=n4-${run}.cpuprofile`,
              }),
        },
    (line) => {
      if (N4_LOG !== undefined)
        appendFileSync(N4_LOG, `${Math.round(performance.now() - t0)} ${line}\n`);
      if (listeningMs === 0 && line.includes('"node listening"'))
        listeningMs = performance.now() - t0;
    },
    bin,
    cookie,
  );
  const startCpuS = (await treeCpuSeconds([node.proc.pid ?? 0]))[0] ?? 0;
  const startThreads = await threadCpuSeconds(node.proc.pid ?? 0);
  const upMs = performance.now() - t0; // listening
  let rss = 0;
  let firstMs = 0;
  for (;;) {
    const listed = await count(node);
    if (firstMs === 0 && listed > 0) firstMs = performance.now() - t0;
    if (listed >= target) break;
    rss = Math.max(rss, await rssMb(node.proc.pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  const totalMs = performance.now() - t0;
  const cpuS = (await treeCpuSeconds([node.proc.pid ?? 0]))[0] ?? 0;
  const endThreads = await threadCpuSeconds(node.proc.pid ?? 0);
  const serversCpuS = sum(await treeCpuSeconds(servers)) - serversBefore;
  return {
    node,
    bin,
    listeningMs,
    upMs,
    firstMs,
    totalMs,
    startCpuS,
    cpuS,
    serversCpuS,
    threads: {
      main: endThreads.main - startThreads.main,
      v8: endThreads.v8 - startThreads.v8,
      other: endThreads.other - startThreads.other,
    },
    rssMb: rss,
    load,
  };
}

async function upload(node: BenchNode, file: string, title: string): Promise<string> {
  const form = new FormData();
  form.append('title', title);
  form.append('file', await openAsBlob(file), 'photo.jpg');
  const res = await fetch(`${node.url}/api/pictures`, {
    method: 'POST',
    headers: { cookie: node.cookie },
    body: form,
  });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function visible(node: BenchNode, id: string): Promise<boolean> {
  const res = await fetch(`${node.url}/api/pictures/${id}`, { headers: { cookie: node.cookie } });
  await res.arrayBuffer();
  return res.status === 200;
}

async function waitVisible(
  node: BenchNode,
  id: string,
  since: number,
  timeoutMs = 30_000,
): Promise<number> {
  for (;;) {
    if (await visible(node, id)) return performance.now() - since;
    if (performance.now() - since > timeoutMs) throw new Error(`${id} not visible at ${node.url}`);
    // 5 ms: fine enough for the figures, light enough not to load the nodes being measured.
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Waits until nodes 1-3 are quiet (under 5 % of a core over 300 ms, at most 30 s): the first
 * catch-up would otherwise run beside nodes 2 and 3 still making the thumbnails of the uploads
 * they just fetched, and the later ones would not.
 */
async function quiet(servers: number[]): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const before = sum(await treeCpuSeconds(servers));
    await new Promise((r) => setTimeout(r, 300));
    if (sum(await treeCpuSeconds(servers)) - before < 0.015) return;
  }
}

/** Visible pictures at a node (counted through the API, 200 per page). */
async function count(node: BenchNode): Promise<number> {
  let total = 0;
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const res = await fetch(`${node.url}/api/pictures?limit=200${query}`, {
      headers: { cookie: node.cookie },
    });
    const page = (await res.json()) as { items: unknown[]; nextCursor: string | null };
    total += page.items.length;
    cursor = page.nextCursor;
  } while (cursor !== null);
  return total;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-repl-'));
  const nodes: BenchNode[] = [];
  try {
    console.log(`Generating ${LATENCY_UPLOADS + CATCHUP_UPLOADS} pictures of ~200 KB ...`);
    const files: string[] = [];
    let totalBytes = 0;
    for (let i = 0; i < LATENCY_UPLOADS + CATCHUP_UPLOADS; i++) {
      const file = join(dir, `p${i}.jpg`);
      totalBytes += await writeSmallPhotoJpeg(file);
      files.push(file);
    }
    console.log(`  mean size ${round(totalBytes / files.length / 1000)} KB`);

    const key = randomBytes(24).toString('hex');
    const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
    const argsFor = (i: number) => [
      ...meshArgs(dir, ports, key, i),
      ...['--sync-interval-ms', String(SYNC_INTERVAL_MS)],
    ];
    // With BENCH_PROFILE_DIR nodes 1-3 are profiled too (n1-3.cpuprofile, written at their stop):
    // the catch-up runs are printed as windows of their profiles.
    const serversSpawned = performance.now();
    const profiled = (i: number): Record<string, string> =>
      PROFILE_DIR === undefined || i === 3
        ? {}
        : {
            NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR} --cpu-prof-name=n${i + 1}.cpuprofile`,
          };
    nodes.push(
      ...(await Promise.all([0, 1, 2, 3].map((i) => startBenchNode(argsFor(i), profiled(i))))),
    );
    const [n1, n2, n3, n4] = nodes as [BenchNode, BenchNode, BenchNode, BenchNode];
    // Let the links come up before measuring.
    await upload(n1, files[0] ?? '', 'warm-up');
    const warmId = await upload(n1, files[1] ?? '', 'warm-up 2');
    await Promise.all([n2, n3, n4].map((n) => waitVisible(n, warmId, performance.now())));

    console.log(
      `Latency: ${LATENCY_UPLOADS - 2} uploads at n1, time until visible at n2, n3 and n4 ...`,
    );
    const latencies: number[] = [];
    for (let i = 2; i < LATENCY_UPLOADS; i++) {
      const id = await upload(n1, files[i] ?? '', `latency ${i}`);
      const t0 = performance.now();
      const each = await Promise.all([n2, n3, n4].map((n) => waitVisible(n, id, t0)));
      latencies.push(Math.max(...each));
    }

    console.log(`Catch-up: n4 down, ${CATCHUP_UPLOADS} uploads at n1, n4 back ...`);
    // Idle: links up, nothing to fetch, a few seconds after the last transfer.
    await new Promise((r) => setTimeout(r, 3000));
    const idleRss = await rssMb(n4.proc.pid);
    await n4.stop();
    const catchupFiles = files.slice(LATENCY_UPLOADS);
    let catchupBytes = 0;
    for (const f of catchupFiles) catchupBytes += (await stat(f)).size;
    await runPool(catchupFiles, 4, async (file, i) => {
      await upload(n1, file, `catch-up ${i}`);
      return 0;
    });
    const target = await count(n1);
    // Every run starts node 4 from the same copy of its data directory (what it had when it
    // stopped), so runs of different builds compare on the same work.
    const n4Dir = join(dir, 'node4');
    const snapshot = join(dir, 'node4-snapshot');
    await cp(n4Dir, snapshot, { recursive: true });
    const runs: CatchupRun[] = [];
    const n4Cookie = nodes[3]?.cookie ?? '';
    for (let run = 0; run < CATCHUP_RUNS; run++) {
      const bin = CATCHUP_BINS[run % CATCHUP_BINS.length] ?? MOSAIC_BIN;
      if (run > 0) {
        await nodes[3]?.stop();
        await rm(n4Dir, { recursive: true, force: true });
        await cp(snapshot, n4Dir, { recursive: true });
      }
      const servers = [n1, n2, n3].map((n) => n.proc.pid ?? 0);
      await quiet(servers);
      const from = performance.now() - serversSpawned;
      const result = await catchUp(argsFor(3), target, servers, bin, run, n4Cookie);
      nodes[3] = result.node;
      if (PROFILE_DIR !== undefined) {
        const to = performance.now() - serversSpawned;
        console.log(
          `  run ${run + 1}: ${round(from / 1000, 2)}–${round(to / 1000, 2)} s after n1-3's spawn`,
        );
      }
      runs.push(result);
    }
    const last = runs[runs.length - 1] as CatchupRun;
    const catchupMs = median(runs.map((r) => r.totalMs));
    const catchupUpMs = median(runs.map((r) => r.totalMs - r.upMs));
    const catchupRss = last.rssMb;
    const rss = await Promise.all(nodes.map((n) => peakRssMb(n.proc.pid)));

    const rows = [
      ['visible at n2-n4, p50', `${round(median(latencies))} ms`, 'target < 100 ms'],
      ['visible at n2-n4, p99', `${round(percentile(latencies, 99))} ms`, 'target < 500 ms'],
      ['visible at n2-n4, max', `${round(Math.max(...latencies))} ms`, ''],
      [
        'catch-up (incl. restart)',
        `${round(catchupMs / 1000, 2)} s`,
        `${CATCHUP_UPLOADS} pictures, ${round(catchupBytes / MB)} MB`,
      ],
      ['catch-up rate', `${round(CATCHUP_UPLOADS / (catchupMs / 1000))} pictures/s`, ''],
      [
        'catch-up rate',
        `${round(catchupBytes / MB / (catchupMs / 1000))} MB/s`,
        'target >= 50 MB/s',
      ],
      [
        'catch-up once listening',
        `${round(catchupUpMs / 1000, 2)} s`,
        `${round(catchupBytes / MB / (catchupUpMs / 1000))} MB/s, ${round(CATCHUP_UPLOADS / (catchupUpMs / 1000))} pictures/s`,
      ],
      ['n4 RSS idle, before stop', `${round(idleRss)} MB`, 'target < 100 MB'],
      ['n4 RSS during catch-up, max', `${round(catchupRss)} MB`, 'target < 150 MB (sampled)'],
      ['peak RSS per node', rss.map((r) => `${round(r)}`).join(' / ') + ' MB', ''],
    ];
    console.log(`\n${formatTable(['measure', 'value', 'note'], rows)}\n`);
    const mb = catchupBytes / MB;
    console.log(
      formatTable(
        [
          'n4 run',
          'build',
          'load',
          'listening',
          'first',
          'all',
          'once listening',
          'n4 CPU (start)',
          'n4 CPU/MB',
          'main / V8 / other',
          'n1-3 CPU/MB',
          'n4 RSS max',
        ],
        runs.map((r, i) => [
          String(i + 1),
          r.bin === MOSAIC_BIN ? 'this' : r.bin.replace(/\/bin\/mosaic\.js$/, ''),
          String(round(r.load)),
          `${Math.round(r.listeningMs)} ms`,
          `${Math.round(r.firstMs)} ms`,
          `${Math.round(r.totalMs)} ms`,
          `${round(mb / ((r.totalMs - r.upMs) / 1000))} MB/s`,
          `${round(r.cpuS, 2)} s (${round(r.startCpuS, 2)})`,
          `${round(((r.cpuS - r.startCpuS) * 1000) / mb, 1)} ms`,
          [r.threads.main, r.threads.v8, r.threads.other]
            .map((s) => round((s * 1000) / mb, 1))
            .join(' / '),
          `${round((r.serversCpuS * 1000) / mb, 1)} ms`,
          `${round(r.rssMb)} MB`,
        ]),
      ),
    );
    console.log(
      JSON.stringify({
        bench: 'replication',
        latencyP50Ms: round(median(latencies)),
        latencyP99Ms: round(percentile(latencies, 99)),
        latencyMaxMs: round(Math.max(...latencies)),
        catchupSeconds: round(catchupMs / 1000, 2),
        catchupPicturesPerSecond: round(CATCHUP_UPLOADS / (catchupMs / 1000)),
        catchupMBps: round(catchupBytes / MB / (catchupMs / 1000)),
        catchupFromListeningSeconds: round(catchupUpMs / 1000, 2),
        catchupFromListeningMBps: round(catchupBytes / MB / (catchupUpMs / 1000)),
        peakRssMb: rss.map((r) => round(r)),
        n4IdleRssMb: round(idleRss),
        n4CatchupRssMb: round(catchupRss),
        catchupRuns: runs.map((r) => ({
          bin: r.bin,
          load: round(r.load),
          listeningMs: Math.round(r.listeningMs),
          firstMs: Math.round(r.firstMs),
          totalMs: Math.round(r.totalMs),
          onceListeningMBps: round(mb / ((r.totalMs - r.upMs) / 1000)),
          n4CpuS: round(r.cpuS, 2),
          n4StartCpuS: round(r.startCpuS, 2),
          serversCpuS: round(r.serversCpuS, 2),
          n4RssMb: round(r.rssMb),
          n4ThreadsCpuS: {
            main: round(r.threads.main, 2),
            v8: round(r.threads.v8, 2),
            other: round(r.threads.other, 2),
          },
        })),
      }),
    );
  } finally {
    // SIGTERM for every node when profiling: the profile is written at exit.
    await Promise.all(nodes.map((n) => (PROFILE_DIR ? n.stop() : n.kill())));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
