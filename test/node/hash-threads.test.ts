/**
 * The folder scanner's hashing threads, as built (dist/: the worker is a compiled file beside
 * the module that starts it; run from the sources, hash-threads.ts hashes on the main thread).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockSizeFor, hashFile, MIN_BLOCK_SIZE } from '../../src/folders/blocks.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
type Threads = typeof import('../../src/folders/hash-threads.js');

let dir: string;
let threads: Threads;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-hash-threads-'));
  threads = (await import(join(REPO_ROOT, 'dist/src/folders/hash-threads.js'))) as Threads;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashOnThreads (compiled)', () => {
  it('gives what one pass on the main thread gives: the whole hash and every block', async () => {
    const sizes = [
      threads.THREAD_HASH_MIN_BYTES + 1,
      3 * MIN_BLOCK_SIZE * 8,
      5 * 1024 * 1024 + 12_345,
      17 * 1024 * 1024 + 1,
    ];
    for (const size of sizes) {
      const file = join(dir, `f${size}`);
      await writeFile(file, randomBytes(size));
      const blockSize = blockSizeFor(size);
      const here = await hashFile(file, { blockSize });
      const there = await threads.hashOnThreads(file, { blockSize, sizeHint: size });
      expect(there.hash).toBe(here.hash);
      expect(there.size).toBe(size);
      expect(there.blockSize).toBe(blockSize);
      expect(there.blocks.equals(here.blocks)).toBe(true);
    }
  });

  it('gives one part alone when asked (a scan asks for the whole hash only)', async () => {
    const size = 5 * 1024 * 1024 + 3;
    const file = join(dir, 'part');
    await writeFile(file, randomBytes(size));
    const blockSize = blockSizeFor(size);
    const here = await hashFile(file, { blockSize });
    const whole = await threads.hashOnThreads(file, { blockSize, sizeHint: size, part: 'whole' });
    expect(whole).toMatchObject({ hash: here.hash, size, blockSize });
    expect(whole.blocks.length).toBe(0);
    const blocks = await threads.hashOnThreads(file, { blockSize, sizeHint: size, part: 'blocks' });
    expect(blocks.blocks.equals(here.blocks)).toBe(true);
  });

  it('hashes many files at once (more than there are threads), each its own', async () => {
    const files = await Promise.all(
      Array.from({ length: 9 }, async (_, i) => {
        const file = join(dir, `many${i}`);
        await writeFile(file, randomBytes(threads.THREAD_HASH_MIN_BYTES + 1000 * i + 1));
        return file;
      }),
    );
    const blockSize = MIN_BLOCK_SIZE;
    const results = await Promise.all(
      files.map((file, i) =>
        threads.hashOnThreads(file, {
          blockSize,
          sizeHint: threads.THREAD_HASH_MIN_BYTES + 1000 * i + 1,
        }),
      ),
    );
    for (const [i, file] of files.entries()) {
      const here = await hashFile(file, { blockSize });
      expect(results[i]?.hash).toBe(here.hash);
      expect(results[i]?.blocks.equals(here.blocks)).toBe(true);
    }
  });

  it('fails as the main thread would: a missing file is ENOENT, a FIFO is not a regular file', async () => {
    const size = threads.THREAD_HASH_MIN_BYTES + 1;
    await expect(
      threads.hashOnThreads(join(dir, 'nothing'), { blockSize: MIN_BLOCK_SIZE, sizeHint: size }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(
      threads.hashOnThreads(fifo, { blockSize: MIN_BLOCK_SIZE, sizeHint: size }),
    ).rejects.toMatchObject({ name: 'NotARegularFileError' });
  });
});
