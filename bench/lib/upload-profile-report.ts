/** The upload profile's printed figures: a table of pieces, one of ceilings, and a JSON line. */
import sharp from 'sharp';
import { MB, formatTable, round } from './stats.js';

export type Kind = 'big' | 'small';

export interface Measured {
  readonly label: string;
  readonly wall: Record<Kind, number>;
  readonly cpu: Record<Kind, number>;
  /** Of `cpu`, the part used by the drain server (the rest is the fetch client). */
  readonly serverCpu?: Record<Kind, number>;
}

export interface Ceiling {
  readonly label: string;
  readonly perSec: number;
  readonly cpuMs: number;
}

export function printProfile(
  sizes: Record<Kind, number>,
  runs: Record<Kind, number>,
  results: readonly Measured[],
  ceilings: readonly Ceiling[],
): void {
  console.log('');
  console.log(
    `Upload profile: 20 MB = ${round(sizes.big / MB, 1)} MB noise JPEG 2620x2620 q100; 200 KB = ${round(sizes.small / 1000, 0)} KB photo-like JPEG 1280x960 q85.`,
  );
  console.log(
    `Median wall ms and mean CPU ms (all threads of this process; * = plus the drain server's) over ${runs.big} / ${runs.small} runs. sharp.concurrency() = ${sharp.concurrency()}.`,
  );
  console.log('');
  console.log(
    formatTable(
      ['piece', '20 MB wall', '20 MB CPU', '200 KB wall', '200 KB CPU', ''],
      results.map((r) => [
        r.label,
        `${round(r.wall.big, 1)}`,
        `${round(r.cpu.big, 1)}`,
        `${round(r.wall.small, 1)}`,
        `${round(r.cpu.small, 1)}`,
        '',
      ]),
    ),
  );
  for (const r of results) {
    if (r.serverCpu === undefined) continue;
    console.log(
      `* ${r.label.replace(' *', '')}: drain server ${round(r.serverCpu.big, 0)} / ${round(r.serverCpu.small, 1)} ms CPU, fetch client ${round(r.cpu.big - r.serverCpu.big, 0)} / ${round(r.cpu.small - r.serverCpu.small, 1)} ms CPU`,
    );
  }
  console.log('');
  console.log(
    'Thumbnails alone for 200 KB pictures, 48 done 4 at a time: measured pictures/s, CPU ms per picture, and the CPU-bound ceiling on 2 idle cores (2000 / CPU ms):',
  );
  console.log(
    formatTable(
      ['work per picture', 'pictures/s', 'CPU ms', 'ceiling/s', ''],
      ceilings.map((c) => [
        c.label,
        `${round(c.perSec, 1)}`,
        `${round(c.cpuMs, 1)}`,
        `${round(2000 / c.cpuMs, 0)}`,
        '',
      ]),
    ),
  );
  console.log(
    JSON.stringify({
      profile: 'upload',
      pieces: results.map((r) => ({
        piece: r.label.trim(),
        bigWallMs: round(r.wall.big, 1),
        bigCpuMs: round(r.cpu.big, 1),
        smallWallMs: round(r.wall.small, 1),
        smallCpuMs: round(r.cpu.small, 1),
        ...(r.serverCpu === undefined
          ? {}
          : {
              bigServerCpuMs: round(r.serverCpu.big, 1),
              smallServerCpuMs: round(r.serverCpu.small, 1),
            }),
      })),
      ceilings: ceilings.map((c) => ({
        work: c.label,
        picturesPerSec: round(c.perSec, 1),
        cpuMs: round(c.cpuMs, 1),
      })),
    }),
  );
}
