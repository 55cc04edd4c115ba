/** What the machine can do at all, measured beside a bench: SHA-256 and fsynced disk writes. */
import { createHash, randomFillSync } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MB } from './stats.js';

/** MB/s of SHA-256 (node:crypto) over one in-memory buffer of `bytes`, `runs` times. */
export function shaRates(bytes: number, runs: number): number[] {
  const buffer = randomFillSync(Buffer.allocUnsafe(bytes));
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    createHash('sha256').update(buffer).digest();
    rates.push(bytes / MB / ((performance.now() - t0) / 1000));
  }
  return rates;
}

/** MB/s of writing a file of `bytes` in `dir` with one write, fsync and close, `runs` times. */
export async function diskWriteRates(dir: string, bytes: number, runs: number): Promise<number[]> {
  const buffer = randomFillSync(Buffer.allocUnsafe(bytes));
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const file = join(dir, `write-${i}`);
    const t0 = performance.now();
    const handle = await open(file, 'wx');
    try {
      await handle.writeFile(buffer);
      await handle.sync();
    } finally {
      await handle.close();
    }
    rates.push(bytes / MB / ((performance.now() - t0) / 1000));
    await rm(file);
  }
  return rates;
}
