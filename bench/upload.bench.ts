/**
 * Upload bench (issue 2): how fast a real node takes pictures over real HTTP, next to what the
 * machine can do at all (SHA-256 and fsynced disk writes). Prints figures; asserts nothing.
 *
 *   npm run bench:upload
 *
 * Everything runs in a temp directory (removed at exit): the images, the node's data directory
 * and the raw disk-write files, so they share one file system.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, writeBigNoiseJpeg, writeSmallPhotoJpeg } from './lib/images.js';
import { diskWriteRates, shaRates } from './lib/machine-rates.js';
import { freePort, peakRssMb, startBenchNode } from './lib/nodes.js';
import { MB, median, round } from './lib/stats.js';
import { cpuUse, sampleCpu, uploadRun, type Api, type Run } from './lib/upload-client.js';
import { printUploadFigures } from './lib/upload-report.js';

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
  printUploadFigures({
    benchStart,
    generateMs,
    bigAll,
    smallAll,
    sameFs,
    shaRuns: SHA_RUNS,
    shaMBps,
    diskRuns: DISK_RUNS,
    diskRates,
    diskMBps,
    rawCpu,
    bigSequential: BIG_SEQUENTIAL,
    bigConcurrent: BIG_CONCURRENT,
    bigSeq,
    bigConc,
    smallRuns,
    idleRssMB,
    bigRssMB,
    peakRss,
    uploaded,
    thumbCount,
    nodeErrors,
  });
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
