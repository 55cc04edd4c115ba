/**
 * `lstat` for a scan: direct calls while they are quick, through libuv's thread pool once one is
 * slow. An entry a scan just listed is usually in the kernel's caches, and then a direct call
 * (a few microseconds) costs far less than a trip through the pool (a hand-off to another thread
 * and back, each a context switch on a busy machine): docs/benchmarks.md, issue 16. A cold cache
 * or a network disk makes a direct call wait for the device with the event loop stopped:
 * SLOW_IN_A_ROW calls in a row slower than SLOW_MS send the rest of the scan to the pool, several
 * at once. One slow call alone is usually this process being descheduled on a busy machine.
 */
import { lstatSync, type BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';

/** A direct lstat slower than this: the disk is being read, leave the waiting to the pool. */
export const SLOW_MS = 2;
/** Slow direct calls in a row before the scan leaves lstat to the pool. */
export const SLOW_IN_A_ROW = 3;

export class ScanStat {
  private direct = true;
  private slowInARow = 0;

  /** Calls made directly, and through the pool (tests, and the scan's log). */
  directCalls = 0;
  pooledCalls = 0;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  async lstat(abs: string): Promise<BigIntStats> {
    if (!this.direct) {
      this.pooledCalls++;
      return lstat(abs, { bigint: true });
    }
    this.directCalls++;
    const start = this.clock();
    try {
      return lstatSync(abs, { bigint: true });
    } finally {
      this.slowInARow = this.clock() - start > SLOW_MS ? this.slowInARow + 1 : 0;
      if (this.slowInARow >= SLOW_IN_A_ROW) this.direct = false;
    }
  }
}
