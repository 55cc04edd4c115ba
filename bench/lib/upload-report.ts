/**
 * The upload bench's figures (bench/upload.bench.ts): the table, the lines around it and one
 * JSON line with every figure.
 */
import { cpus } from 'node:os';
import sharp from 'sharp';
import { BIG_EDGE, SMALL_HEIGHT, SMALL_WIDTH } from './images.js';
import { MOSAIC_BIN } from './nodes.js';
import { MB, formatTable, median, percentile, round, sum } from './stats.js';
import type { CpuUse, Run } from './upload-client.js';

/** What the bench measured, and how (its run sizes). */
export interface UploadFigures {
  readonly benchStart: number;
  readonly generateMs: number;
  readonly bigAll: readonly { size: number }[];
  readonly smallAll: readonly { size: number }[];
  readonly sameFs: boolean;
  readonly shaRuns: number;
  readonly shaMBps: number;
  readonly diskRuns: number;
  readonly diskRates: readonly number[];
  readonly diskMBps: number;
  readonly rawCpu: CpuUse | null;
  readonly bigSequential: number;
  readonly bigConcurrent: number;
  readonly bigSeq: Run;
  readonly bigConc: Run;
  readonly smallRuns: readonly { concurrency: number; run: Run }[];
  readonly idleRssMB: number;
  readonly bigRssMB: number;
  readonly peakRss: number;
  readonly uploaded: number;
  readonly thumbCount: number;
  readonly nodeErrors: readonly string[];
}

/** A peak RSS for the table: whole MB, or n/a where /proc had none. */
const mbCell = (mb: number): string => (Number.isNaN(mb) ? 'n/a' : String(round(mb, 0)));
const mbJson = (mb: number): number | null => (Number.isNaN(mb) ? null : round(mb, 0));

export function printUploadFigures(figures: UploadFigures): void {
  const {
    benchStart,
    generateMs,
    bigAll,
    smallAll,
    sameFs,
    shaMBps,
    diskRates,
    diskMBps,
    rawCpu,
    bigSeq,
    bigConc,
    smallRuns,
    idleRssMB,
    bigRssMB,
    peakRss,
    uploaded,
    thumbCount,
    nodeErrors,
    shaRuns,
    diskRuns,
    bigSequential,
    bigConcurrent,
  } = figures;
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
      `median of ${shaRuns}`,
    ],
    [
      'disk write 20 MB + fsync',
      `${round(diskMBps, 0)}`,
      'MB/s',
      '',
      '',
      rawCpu === null ? 'n/a' : pct(rawCpu.others),
      `median of ${diskRuns} (${round(Math.min(...diskRates), 0)}..${round(Math.max(...diskRates), 0)})`,
    ],
    [
      `upload 20 MB, sequential (${bigSequential})`,
      `${round(bigSeqMBps, 1)}`,
      'MB/s',
      ...cpuCells(bigSeq.cpu, bigSeq.uploads),
      `${pct(bigSeqMBps / diskMBps)} of disk (target >= 80%); p50 ${ms(median(bigSeq.latencies))}/upload`,
    ],
    [
      `upload 20 MB, concurrency 2 (${bigConcurrent})`,
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
