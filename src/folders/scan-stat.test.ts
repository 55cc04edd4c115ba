import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScanStat, SLOW_IN_A_ROW, SLOW_MS } from './scan-stat.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-scanstat-'));
  await writeFile(join(dir, 'a'), 'hello');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scan lstat', () => {
  it('calls lstat directly while it is quick, with the same result as the pool', async () => {
    const stat = new ScanStat();
    const info = await stat.lstat(join(dir, 'a'));
    expect(info.size).toBe(5n);
    expect(info.isFile()).toBe(true);
    expect(stat.directCalls).toBe(1);
    expect(stat.pooledCalls).toBe(0);
  });

  it('goes through the pool for the rest of the scan after slow direct calls in a row', async () => {
    let now = 0;
    const stat = new ScanStat(() => (now += SLOW_MS + 1));
    for (let i = 0; i < SLOW_IN_A_ROW + 2; i++) await stat.lstat(join(dir, 'a'));
    expect(stat.directCalls).toBe(SLOW_IN_A_ROW);
    expect(stat.pooledCalls).toBe(2);
  });

  it('stays direct after one slow call (the process descheduled, not the disk)', async () => {
    // Two readings per call (start, end): slow, quick, slow, quick...
    let readings = 0;
    let now = 0;
    const stat = new ScanStat(() => {
      const call = Math.floor(readings / 2);
      const isEnd = readings++ % 2 === 1;
      if (isEnd) now += call % 2 === 0 ? SLOW_MS + 1 : 0;
      return now;
    });
    for (let i = 0; i < 10; i++) await stat.lstat(join(dir, 'a'));
    expect(stat.pooledCalls).toBe(0);
  });

  it('rejects (never throws) for a missing path, like the pool', async () => {
    const stat = new ScanStat();
    await expect(stat.lstat(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
