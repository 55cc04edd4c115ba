/**
 * Upload bench (issue 2): how fast a real node takes pictures over real HTTP, next to what the
 * machine can do at all (SHA-256 and fsynced disk writes). Prints figures; asserts nothing.
 *
 *   npm run bench:upload
 *
 * Everything runs in a temp directory (removed at exit): the images, the node's data directory
 * and the raw disk-write files, so they share one file system.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  BIG_EDGE,
  SMALL_HEIGHT,
  SMALL_WIDTH,
  writeBigNoiseJpeg,
  writeSmallPhotoJpeg,
} from './lib/images.js';
import { MB, formatTable, median, percentile, round, runPool, sum } from './lib/stats.js';

/** The node to run; MOSAIC_BENCH_BIN points at another build (e.g. a patched copy) to compare. */
const MOSAIC_BIN =
  process.env['MOSAIC_BENCH_BIN'] ?? fileURLToPath(new URL('../../bin/mosaic.js', import.meta.url));
const PASSWORD = 'bench-password-123';

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

interface RunningNode {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly errors: string[];
}

interface Run {
  readonly uploads: number;
  readonly bytes: number;
  readonly wallMs: number;
  readonly latencies: number[];
  readonly cpu: CpuUse | null;
}

/** CPU use over a run, from /proc (Linux), in clock ticks. */
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

const CLOCK_TICKS_PER_SEC = 100; // USER_HZ, 100 on Linux

async function processTicks(pid: number | 'self'): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** `nodePid` null: no node running (its share is then 0). */
async function sampleCpu(nodePid: number | null): Promise<CpuSample | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const at = (i: number): number => ticks[i] ?? 0;
    // user nice system idle iowait irq softirq steal
    const busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    return {
      busy,
      total: busy + at(3) + at(4),
      self: await processTicks('self'),
      node: nodePid === null ? 0 : await processTicks(nodePid),
    };
  } catch {
    return null;
  }
}

function cpuUse(a: CpuSample | null, b: CpuSample | null): CpuUse | null {
  if (!a || !b || b.total <= a.total) return null;
  const node = b.node - a.node;
  const self = b.self - a.self;
  return {
    nodeSec: node / CLOCK_TICKS_PER_SEC,
    clientSec: self / CLOCK_TICKS_PER_SEC,
    others: Math.max(0, b.busy - a.busy - node - self) / (b.total - a.total),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw machine rates

function shaRate(): number[] {
  const buffer = randomFillSync(Buffer.allocUnsafe(SHA_BUFFER_BYTES));
  const rates: number[] = [];
  for (let i = 0; i < SHA_RUNS; i++) {
    const t0 = performance.now();
    createHash('sha256').update(buffer).digest();
    rates.push(SHA_BUFFER_BYTES / MB / ((performance.now() - t0) / 1000));
  }
  return rates;
}

/** Writes DISK_FILE_BYTES files with one write, fsync and close; MB/s of each. */
async function diskWriteRates(dir: string): Promise<number[]> {
  const buffer = randomFillSync(Buffer.allocUnsafe(DISK_FILE_BYTES));
  const rates: number[] = [];
  for (let i = 0; i < DISK_RUNS; i++) {
    const file = join(dir, `write-${i}`);
    const t0 = performance.now();
    const handle = await open(file, 'wx');
    try {
      await handle.writeFile(buffer);
      await handle.sync();
    } finally {
      await handle.close();
    }
    rates.push(DISK_FILE_BYTES / MB / ((performance.now() - t0) / 1000));
    await rm(file);
  }
  return rates;
}

// ---------------------------------------------------------------------------------------------
// The node under test

function startNode(dataDir: string): Promise<RunningNode> {
  const proc = spawn(
    process.execPath,
    [MOSAIC_BIN, 'node', '--data', dataDir, '--port', '0', '--host', '127.0.0.1'],
    {
      env: { ...process.env, MOSAIC_ADMIN_PASSWORD: PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const errors: string[] = [];
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('The node did not say "node listening" within 30 s.'));
    }, 30_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`The node exited (code ${String(code)}) before listening: ${stderr}`));
    };
    proc.once('exit', onExit);
    // The stdout pipe must keep being drained, or the node blocks on its own logging.
    const lines = createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof entry !== 'object' || entry === null) return;
      const { msg, url, level } = entry as { msg?: unknown; url?: unknown; level?: unknown };
      if (typeof level === 'number' && level >= 50) errors.push(line.slice(0, 300));
      if (msg === 'node listening' && typeof url === 'string') {
        clearTimeout(timer);
        proc.off('exit', onExit);
        resolve({ proc, url, errors });
      }
    });
  });
}

async function stopNode(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      resolve();
    }),
  );
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Peak resident set size of a process in MB (Linux VmHWM), null where /proc is missing. */
async function peakRssMB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? null : (Number(kb) * 1024) / MB;
  } catch {
    return null;
  }
}

async function login(url: string): Promise<Api> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`Login failed: HTTP ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .filter((c) => c !== '')
    .join('; ');
  if (cookie === '') throw new Error('Login set no cookie.');
  return { url, cookie };
}

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
  const shaRates = shaRate();
  const diskRates = await diskWriteRates(diskDir);
  const rawCpu = cpuUse(rawBefore, await sampleCpu(null));
  const shaMBps = median(shaRates);
  const diskMBps = median(diskRates);
  globalThis.gc?.();

  // 3. A real node on loopback.
  const node = await startNode(dataDir);
  cleanups.push(() => stopNode(node.proc));
  log(`node ${String(node.proc.pid)} listening at ${node.url}`);
  const api = await login(node.url);
  const pid = node.proc.pid ?? null;
  const idleRssMB = await peakRssMB(node.proc.pid);

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
  const bigRssMB = await peakRssMB(node.proc.pid);

  const smallRuns: { concurrency: number; run: Run }[] = [];
  for (const [i, concurrency] of SMALL_CONCURRENCY.entries()) {
    log(`200 KB uploads: ${SMALL_PER_RUN} at concurrency ${concurrency}`);
    smallRuns.push({
      concurrency,
      run: await uploadRun(api, pid, smallRunFiles[i] ?? [], concurrency),
    });
  }
  const peakRss = await peakRssMB(node.proc.pid);

  const thumbCount = (await readdir(join(dataDir, 'thumbs'))).filter((f) =>
    f.endsWith('.webp'),
  ).length;
  const uploaded = bigAll.length + smallAll.length;
  const nodeErrors = [...node.errors];
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
      peakRss === null ? 'n/a' : `${round(peakRss, 0)}`,
      'MB',
      '',
      '',
      '',
      `idle ${idleRssMB === null ? 'n/a' : round(idleRssMB, 0)}, after 20 MB runs ${bigRssMB === null ? 'n/a' : round(bigRssMB, 0)}`,
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
        idle: idleRssMB === null ? null : round(idleRssMB, 0),
        afterBig: bigRssMB === null ? null : round(bigRssMB, 0),
        peak: peakRss === null ? null : round(peakRss, 0),
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
