/**
 * The folder bench's floor (bench/folder.bench.ts): `rsync -a` to the other root and `sync`,
 * what a plain copy that reaches the disk costs, when `rsync` is on the PATH (Debian:
 * `apt-get install rsync`).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verify, writeBigFile, writeSmallSet, type FolderSets } from './folder-sync.js';
import { removeLater } from './remove-later.js';
import { round } from './stats.js';

const run = promisify(execFile);

export function rsyncVersion(): string | null {
  try {
    const out = execFileSync('rsync', ['--version'], { encoding: 'utf8' });
    return /rsync\s+version\s+(\S+)/.exec(out)?.[1] ?? 'rsync';
  } catch {
    return null;
  }
}

export interface Floor {
  smallS: number;
  /** rsync -a + sync alone, after the set was written. */
  smallCopyS: number;
  bigS: number;
  bigCopyS: number;
}

/**
 * The floor, on the same terms as the contenders: the small set written and flushed first, then
 * the clock over `rsync -a` to the other root and `sync` (what a plain copy that reaches the disk
 * costs); with BENCH_LIVE=1, and for the large file, from the first write.
 */
export async function measureRsync(sets: FolderSets): Promise<Floor> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-rsync-'));
  const roots = [join(dir, 'f1', 'folder'), join(dir, 'f2', 'folder')] as const;
  await Promise.all(roots.map((r) => mkdir(r, { recursive: true })));
  const copy = async (): Promise<number> => {
    const t = performance.now();
    await run('rsync', ['-a', `${roots[0]}/`, `${roots[1]}/`]);
    await run('sync');
    return (performance.now() - t) / 1000;
  };
  try {
    console.log(
      sets.live
        ? `rsync: writing ${sets.small.label}, then rsync -a + sync ...`
        : `rsync: ${sets.small.label} written and flushed, then (timed) rsync -a + sync ...`,
    );
    if (!sets.live) {
      await writeSmallSet(roots[0], sets.small);
      await run('sync');
    }
    const t0 = performance.now();
    if (sets.live) await writeSmallSet(roots[0], sets.small);
    const smallCopyS = await copy();
    const smallS = (performance.now() - t0) / 1000;
    await verify(roots);
    console.log(`  identical after ${round(smallS, 2)} s (rsync + sync ${round(smallCopyS, 2)} s)`);
    if (sets.bigSize === 0) return { smallS, smallCopyS, bigS: NaN, bigCopyS: NaN };
    console.log(
      `rsync: writing the ${sets.bigSize / 1024 / 1024} MiB file, then rsync -a + sync ...`,
    );
    const t1 = performance.now();
    await writeBigFile(join(roots[0], 'big.bin'), sets.bigSize);
    const bigCopyS = await copy();
    const bigS = (performance.now() - t1) / 1000;
    await verify(roots);
    console.log(`  identical after ${round(bigS, 2)} s (rsync + sync ${round(bigCopyS, 2)} s)`);
    return { smallS, smallCopyS, bigS, bigCopyS };
  } finally {
    removeLater(dir);
  }
}
