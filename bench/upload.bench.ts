/**
 * Upload bench (issue 2): how fast a real node takes pictures over real HTTP, next to what the
 * machine can do at all (SHA-256 and fsynced disk writes). Prints figures; asserts nothing.
 *
 *   npm run bench:upload
 *
 * Everything runs in a temp directory (removed at exit): the images, the node's data directory
 * and the raw disk-write files, so they share one file system.
 */
import { openAsBlob } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { machineCpuSeconds, treeCpuSeconds } from './lib/cpu.js';
import {
  BIG_EDGE,
  SMALL_HEIGHT,
  SMALL_WIDTH,
  writeBigNoiseJpeg,
  writeSmallPhotoJpeg,
} from './lib/images.js';
import { diskWriteRates, shaRates } from './lib/machine-rates.js';
import { MOSAIC_BIN, freePort, peakRssMb, startBenchNode } from './lib/nodes.js';
import { MB, formatTable, median, percentile, round, runPool, sum } from './lib/stats.js';

const SHA_BUFFER_BYTES = 128 * 1024 * 1024;
const SHA_RUNS = 5;
const DISK_FILE_BYTES = 20 * MB;
const DISK_RUNS = 9;
const BIG_WARMUP = 1;
const BIG_SEQUENTIAL = 4;
const BIG_CONCURRENT = 6;
const SMALL_WARMUP = 8;
const SMALL_PER_RUN = 200;
const SMALL_CONCURRENCY = [4, 8] as const;

interface Api {
  readonly url: string;
  readonly cookie: string;
}

interface Run {
  readonly uploads: number;
  readonly bytes: number;
  readonly wallMs: number;
  readonly latencies: number[];
  readonly cpu: CpuUse | null;
}

/** CPU seconds so far, from /proc (Linux): the machine's, this bench's and the node's. */
interface CpuSample {
  readonly busy: number;
  readonly total: number;
  readonly self: number;
  readonly node: number;
}

interface CpuUse {
  /** CPU seconds the node process used. */
  readonly nodeSec: number;
  /** CPU seconds this bench process (the HTTP client) used. */
  readonly clientSec: number;
  /** Share of the whole machine (all cores) busy with anything else: other processes, steal. */
  readonly others: number;
}

/** `nodePid` null: no node running (its share is then 0). */
async function sampleCpu(nodePid: number | null): Promise<CpuSample | null> {
  try {
    const { busy, total } = await machineCpuSeconds();
    const own = process.cpuUsage();
    const [node = 0] = nodePid === null ? [] : await treeCpuSeconds([nodePid]);
    return { busy, total, self: (own.user + own.system) / 1e6, node };
  } catch {
    return null;
  }
}

function cpuUse(a: CpuSample | null, b: CpuSample | null): CpuUse | null {
  if (!a || !b || b.total <= a.total) return null;
  const node = b.node - a.node;
  const self = b.self - a.self;
  return {
    nodeSec: node,
    clientSec: self,
    others: Math.max(0, b.busy - a.busy - node - self) / (b.total - a.total),
  };
}

/** A peak RSS for the table: whole MB, or n/a where /proc had none. */
const mbCell = (mb: number): string => (Number.isNaN(mb) ? 'n/a' : String(round(mb, 0)));
const mbJson = (mb: number): number | null => (Number.isNaN(mb) ? null : round(mb, 0));

/** One upload; returns its duration in ms (request start to the whole answer read). */
async function upload(api: Api, file: string, title: string): Promise<number> {
  const form = new FormData();
  form.append('title', title);
  form.append('file', await openAsBlob(file, { type: 'image/jpeg' }), basename(file));
  const t0 = performance.now();
  const res = await fetch(`${api.url}/api/pictures`, {
    method: 'POST',
    headers: { cookie: api.cookie },
    body: form,
  });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 201) {
    throw new Error(`Upload of ${basename(file)}: HTTP ${res.status} ${body.slice(0, 300)}`);
  }
  return ms;
}

async function uploadRun(
  api: Api,
  pid: number | null,
  files: readonly { path: string; size: number }[],
  concurrency: number,
): Promise<Run> {
  const before = await sampleCpu(pid);
  const { wallMs, latencies } = await runPool(files, concurrency, (f) =>
    upload(api, f.path, basename(f.path)),
  );
  const cpu = cpuUse(before, await sampleCpu(pid));
  return { uploads: files.length, bytes: sum(files.map((f) => f.size)), wallMs, latencies, cpu };
}

// ---------------------------------------------------------------------------------------------
// Images

async function generate(
  dir: string,
  prefix: string,
  count: number,
  write: (file: string) => Promise<number>,
  parallel: number,
): Promise<{ path: string; size: number }[]> {
  const files: { path: string; size: number }[] = new Array<{ path: string; size: number }>(count);
  await runPool(
    Array.from({ length: count }, (_, i) => i),
    parallel,
    async (i) => {
      const path = join(dir, `${prefix}-${String(i).padStart(4, '0')}.jpg`);
      files[i] = { path, size: await write(path) };
      return 0;
    },
  );
  return files;
}

// ---------------------------------------------------------------------------------------------

const cleanups: (() => Promise<void>)[] = [];

async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop();
    try {
      await step?.();
    } catch (error) {
      console.error('cleanup:', error);
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function main(): Promise<void> {
  const benchStart = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'mosaic-bench-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const imagesDir = join(root, 'images');
  const dataDir = join(root, 'data');
  const diskDir = join(root, 'disk');
  await Promise.all([imagesDir, dataDir, diskDir].map((d) => mkdir(d, { recursive: true })));
  const sameFs = (await stat(dataDir)).dev === (await stat(diskDir)).dev;

  // 1. Images, all made before anything is timed.
  log(`generating images in ${imagesDir}`);
  const t0 = performance.now();
  const bigAll = await generate(
    imagesDir,
    'big',
    BIG_WARMUP + BIG_SEQUENTIAL + BIG_CONCURRENT,
    (f) => writeBigNoiseJpeg(f),
    2,
  );
  const smallAll = await generate(
    imagesDir,
    'small',
    SMALL_WARMUP + SMALL_PER_RUN * SMALL_CONCURRENCY.length,
    writeSmallPhotoJpeg,
    4,
  );
  const generateMs = performance.now() - t0;
  log(`${bigAll.length} big + ${smallAll.length} small images in ${round(generateMs / 1000)} s`);
  globalThis.gc?.();

  // 2. What the machine can do at all.
  log('raw SHA-256 and disk-write rates');
  const rawBefore = await sampleCpu(null);
  const shaRatesMBps = shaRates(SHA_BUFFER_BYTES, SHA_RUNS);
  const diskRates = await diskWriteRates(diskDir, DISK_FILE_BYTES, DISK_RUNS);
  const rawCpu = cpuUse(rawBefore, await sampleCpu(null));
  const shaMBps = median(shaRatesMBps);
  const diskMBps = median(diskRates);
  globalThis.gc?.();

  // 3. A real node on loopback.
  // Error lines of the node under test are counted and shown with the figures.
  const nodeErrors: string[] = [];
  const node = await startBenchNode(
    ['--data', dataDir, '--port', String(await freePort())],
    {},
    (line) => {
      if (/"level":(50|60)/.test(line)) nodeErrors.push(line.slice(0, 300));
    },
  );
  cleanups.push(() => node.stop());
  log(`node ${String(node.proc.pid)} listening at ${node.url}`);
  const api: Api = { url: node.url, cookie: node.cookie };
  const pid = node.proc.pid ?? null;
  const idleRssMB = await peakRssMb(node.proc.pid);

  let next = 0;
  const take = <T>(list: readonly T[], n: number): T[] => {
    const slice = list.slice(next, next + n);
    next += n;
    return slice;
  };

  // Warm-up (JIT, sharp/libvips start-up, SQLite pages): not counted.
  next = 0;
  await uploadRun(api, pid, take(bigAll, BIG_WARMUP), 1);
  const bigSeqFiles = take(bigAll, BIG_SEQUENTIAL);
  const bigConcFiles = take(bigAll, BIG_CONCURRENT);
  next = 0;
  await uploadRun(api, pid, take(smallAll, SMALL_WARMUP), 4);
  const smallRunFiles = SMALL_CONCURRENCY.map(() => take(smallAll, SMALL_PER_RUN));

  log(`20 MB uploads: ${BIG_SEQUENTIAL} sequential, ${BIG_CONCURRENT} at concurrency 2`);
  const bigSeq = await uploadRun(api, pid, bigSeqFiles, 1);
  const bigConc = await uploadRun(api, pid, bigConcFiles, 2);
  const bigRssMB = await peakRssMb(node.proc.pid);

  const smallRuns: { concurrency: number; run: Run }[] = [];
  for (const [i, concurrency] of SMALL_CONCURRENCY.entries()) {
    log(`200 KB uploads: ${SMALL_PER_RUN} at concurrency ${concurrency}`);
    smallRuns.push({
      concurrency,
      run: await uploadRun(api, pid, smallRunFiles[i] ?? [], concurrency),
    });
  }
  const peakRss = await peakRssMb(node.proc.pid);

  const thumbCount = (await readdir(join(dataDir, 'thumbs'))).filter((f) =>
    f.endsWith('.webp'),
  ).length;
  const uploaded = bigAll.length + smallAll.length;
  await cleanup();

  // 4. Figures.
  const rate = (r: Run): number => r.bytes / MB / (r.wallMs / 1000);
  const bigSeqMBps = rate(bigSeq);
  const bigConcMBps = rate(bigConc);
  const bigMeanMB = sum(bigAll.map((f) => f.size)) / bigAll.length / MB;
  const smallMeanKB = (sum(smallAll.map((f) => f.size)) / smallAll.length / 1000) | 0;
  const pct = (x: number): string => `${round(x * 100, 0)}%`;
  const ms = (x: number): string => `${round(x, 0)} ms`;

  const cpuCells = (cpu: CpuUse | null, uploads: number): [string, string, string] =>
    cpu === null
      ? ['n/a', 'n/a', 'n/a']
      : [
          `${round((cpu.nodeSec * 1000) / uploads, 0)}`,
          `${round((cpu.clientSec * 1000) / uploads, 0)}`,
          pct(cpu.others),
        ];
  const rows: string[][] = [
    [
      'SHA-256, node:crypto, 128 MiB buffer',
      `${round(shaMBps, 0)}`,
      'MB/s',
      '',
      '',
      '',
      `median of ${SHA_RUNS}`,
    ],
    [
      'disk write 20 MB + fsync',
      `${round(diskMBps, 0)}`,
      'MB/s',
      '',
      '',
      rawCpu === null ? 'n/a' : pct(rawCpu.others),
      `median of ${DISK_RUNS} (${round(Math.min(...diskRates), 0)}..${round(Math.max(...diskRates), 0)})`,
    ],
    [
      `upload 20 MB, sequential (${BIG_SEQUENTIAL})`,
      `${round(bigSeqMBps, 1)}`,
      'MB/s',
      ...cpuCells(bigSeq.cpu, bigSeq.uploads),
      `${pct(bigSeqMBps / diskMBps)} of disk (target >= 80%); p50 ${ms(median(bigSeq.latencies))}/upload`,
    ],
    [
      `upload 20 MB, concurrency 2 (${BIG_CONCURRENT})`,
      `${round(bigConcMBps, 1)}`,
      'MB/s',
      ...cpuCells(bigConc.cpu, bigConc.uploads),
      `${pct(bigConcMBps / diskMBps)} of disk (target >= 80%); p50 ${ms(median(bigConc.latencies))}/upload`,
    ],
    ...smallRuns.map(({ concurrency, run }) => [
      `upload 200 KB, concurrency ${concurrency} (${run.uploads})`,
      `${round(run.uploads / (run.wallMs / 1000), 1)}`,
      'pictures/s',
      ...cpuCells(run.cpu, run.uploads),
      `target >= 50/s; p50 ${ms(median(run.latencies))}, p95 ${ms(percentile(run.latencies, 95))}`,
    ]),
    [
      'node peak RSS (VmHWM)',
      mbCell(peakRss),
      'MB',
      '',
      '',
      '',
      `idle ${mbCell(idleRssMB)}, after 20 MB runs ${mbCell(bigRssMB)}`,
    ],
  ];

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    sharp: sharp.versions.sharp,
    vips: sharp.versions.vips,
    sharpConcurrency: sharp.concurrency(),
  };
  console.log('');
  console.log(
    `Mosaic upload bench: ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}, sharp ${machine.sharp} (libvips ${machine.vips})`,
  );
  console.log(
    `20 MB images: ${bigAll.length} distinct JPEGs of RGB noise, ${BIG_EDGE}x${BIG_EDGE} q100 4:4:4, mean ${round(bigMeanMB, 2)} MB`,
  );
  console.log(
    `200 KB images: ${smallAll.length} distinct photo-like JPEGs, ${SMALL_WIDTH}x${SMALL_HEIGHT} q85, mean ${smallMeanKB} KB`,
  );
  console.log(
    `Real node over HTTP on 127.0.0.1, temp data dir (same file system as disk test: ${String(sameFs)}); thumbnails made during upload. MB = 10^6 bytes.`,
  );
  console.log('');
  console.log(
    formatTable(
      ['measure', 'value', 'unit', 'node CPU ms', 'client CPU ms', 'others busy', 'notes'],
      rows,
    ),
  );
  console.log(
    'node / client CPU ms: CPU time per upload of the node process (all threads) and of this bench (the fetch client), which share the machine. others busy: share of the whole machine used by other processes (and steal) during that run; a run where it is high is not comparable.',
  );
  console.log('');
  console.log(
    `${uploaded} uploads answered 201, ${thumbCount} thumbnails on disk, ${nodeErrors.length} error log lines from the node; images generated in ${round(generateMs / 1000)} s; bench took ${round((performance.now() - benchStart) / 1000)} s.`,
  );
  for (const line of nodeErrors.slice(0, 5)) console.log(`  node error: ${line}`);

  const runJson = (r: Run) => ({
    uploads: r.uploads,
    bytes: r.bytes,
    wallMs: round(r.wallMs, 0),
    p50Ms: round(median(r.latencies), 0),
    p95Ms: round(percentile(r.latencies, 95), 0),
    nodeCpuMsPerUpload: r.cpu === null ? null : round((r.cpu.nodeSec * 1000) / r.uploads, 0),
    clientCpuMsPerUpload: r.cpu === null ? null : round((r.cpu.clientSec * 1000) / r.uploads, 0),
    othersBusy: r.cpu === null ? null : round(r.cpu.others, 3),
  });
  console.log(
    JSON.stringify({
      bench: 'upload',
      machine,
      shaMBps: round(shaMBps, 0),
      diskWriteMBps: round(diskMBps, 0),
      diskWriteRunsMBps: diskRates.map((r) => round(r, 0)),
      rawOthersBusy: rawCpu === null ? null : round(rawCpu.others, 3),
      nodeBin: MOSAIC_BIN,
      big: {
        image: `jpeg noise ${BIG_EDGE}x${BIG_EDGE} q100 4:4:4`,
        meanMB: round(bigMeanMB, 2),
        sequential: { ...runJson(bigSeq), MBps: round(bigSeqMBps, 1) },
        concurrency2: { ...runJson(bigConc), MBps: round(bigConcMBps, 1) },
        ratioSequential: round(bigSeqMBps / diskMBps, 3),
        ratioConcurrency2: round(bigConcMBps / diskMBps, 3),
      },
      small: {
        image: `jpeg photo-like ${SMALL_WIDTH}x${SMALL_HEIGHT} q85`,
        meanKB: smallMeanKB,
        runs: smallRuns.map(({ concurrency, run }) => ({
          concurrency,
          ...runJson(run),
          picturesPerSec: round(run.uploads / (run.wallMs / 1000), 1),
        })),
      },
      nodeRssMB: {
        idle: mbJson(idleRssMB),
        afterBig: mbJson(bigRssMB),
        peak: mbJson(peakRss),
      },
      uploads: uploaded,
      thumbnails: thumbCount,
      nodeErrors: nodeErrors.length,
      benchSeconds: round((performance.now() - benchStart) / 1000, 1),
    }),
  );
}

main()
  .catch(async (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
    await cleanup();
  })
  .finally(() => {
    // Nothing else should keep the process alive; make sure of it.
    setTimeout(() => process.exit(), 100).unref();
  });
