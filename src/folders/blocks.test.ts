import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blockSizeFor,
  changedBlocks,
  hashFile,
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
  NotARegularFileError,
  TARGET_BLOCKS,
} from './blocks.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-blocks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** The block hashes computed the obvious way, one slice at a time. */
function blocksOf(bytes: Uint8Array, blockSize: number): Buffer {
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += blockSize) {
    parts.push(sha(bytes.subarray(start, start + blockSize)));
  }
  return Buffer.concat(parts);
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

describe('blockSizeFor', () => {
  it('is 128 KiB up to 2000 blocks of it, then doubles, up to 16 MiB', () => {
    expect(blockSizeFor(0)).toBe(128 * KiB);
    expect(blockSizeFor(2000 * 128 * KiB)).toBe(128 * KiB);
    expect(blockSizeFor(2000 * 128 * KiB + 1)).toBe(256 * KiB);
    expect(blockSizeFor(GiB)).toBe(MiB);
    expect(blockSizeFor(1000 * GiB)).toBe(16 * MiB);
  });

  it('is the smallest power of two in range that gives at most ~2000 blocks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (size) => {
        const blockSize = blockSizeFor(size);
        expect(Number.isInteger(Math.log2(blockSize))).toBe(true);
        expect(blockSize).toBeGreaterThanOrEqual(MIN_BLOCK_SIZE);
        expect(blockSize).toBeLessThanOrEqual(MAX_BLOCK_SIZE);
        if (blockSize < MAX_BLOCK_SIZE) {
          expect(Math.ceil(size / blockSize)).toBeLessThanOrEqual(TARGET_BLOCKS);
        }
        if (blockSize > MIN_BLOCK_SIZE) {
          expect(Math.ceil(size / (blockSize / 2))).toBeGreaterThan(TARGET_BLOCKS);
        }
      }),
    );
  });

  it("keeps a file's previous block size when it is one step from the ideal", () => {
    const justOver = 2000 * 128 * KiB + 1; // ideal 256 KiB
    expect(blockSizeFor(justOver, 128 * KiB)).toBe(128 * KiB);
    expect(blockSizeFor(justOver, 512 * KiB)).toBe(512 * KiB);
    expect(blockSizeFor(justOver, 1024 * KiB)).toBe(256 * KiB);
    expect(blockSizeFor(justOver, 0)).toBe(256 * KiB);
    expect(blockSizeFor(justOver, 3000)).toBe(256 * KiB);
  });
});

describe('hashFile', () => {
  it("gives the file's SHA-256 and, in the same pass, each block's", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 40 * KiB }),
        fc.constantFrom(512, 1024, 4096, 16 * KiB),
        async (bytes, blockSize) => {
          const file = join(dir, `f${n++}`);
          await writeFile(file, bytes);
          const result = await hashFile(file, { blockSize });
          expect(result.size).toBe(bytes.length);
          expect(result.blockSize).toBe(blockSize);
          expect(result.hash).toBe(sha(bytes).toString('hex'));
          expect(result.blocks.equals(blocksOf(bytes, blockSize))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('uses blockSizeFor by default, across read boundaries', async () => {
    const bytes = Buffer.alloc(MiB + 5 * 128 * KiB + 7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
    const file = join(dir, 'big');
    await writeFile(file, bytes);
    const result = await hashFile(file);
    expect(result.blockSize).toBe(128 * KiB);
    expect(result.blocks.length).toBe(14 * 32);
    expect(result.blocks.equals(blocksOf(bytes, 128 * KiB))).toBe(true);
    expect(result.hash).toBe(sha(bytes).toString('hex'));
  });

  it('hashes an empty file to no blocks', async () => {
    const file = join(dir, 'empty');
    await writeFile(file, '');
    const result = await hashFile(file);
    expect(result).toMatchObject({ size: 0, blockSize: MIN_BLOCK_SIZE });
    expect(result.blocks.length).toBe(0);
    expect(result.hash).toBe(sha(new Uint8Array()).toString('hex'));
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO instead of blocking on it', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(hashFile(fifo)).rejects.toBeInstanceOf(NotARegularFileError);
  });
});

describe('hashFile of a small file (direct calls, issue 16)', () => {
  it('gives what the streaming path gives, and the bytes when asked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 70 * KiB }), async (size) => {
        const bytes = Buffer.alloc(size, size % 251);
        const file = join(dir, `f${size}`);
        await writeFile(file, bytes);
        const kept: [string, Buffer][] = [];
        // The keeper copies: the bytes it is handed are a buffer reused for the next file.
        const keep = {
          maxFileBytes: 64 * KiB,
          put: (hash: string, data: Buffer) => kept.push([hash, Buffer.from(data)]),
        };
        const streamed = await hashFile(file);
        const { read, ...direct } = await hashFile(file, { sizeHint: size, keep });
        expect(direct).toEqual(streamed);
        // The direct path (up to 64 KiB) tells what its descriptor said once read.
        expect(read?.size).toBe(size <= 64 * KiB ? BigInt(size) : undefined);
        expect(direct.hash).toBe(sha(bytes).toString('hex'));
        if (size <= 64 * KiB) expect(kept).toEqual([[direct.hash, bytes]]);
        else expect(kept).toEqual([]);
        // The streaming path hands over the bytes of a small file too.
        kept.length = 0;
        await hashFile(file, { keep });
        expect(kept.length).toBe(size <= 64 * KiB ? 1 : 0);
        if (kept[0] !== undefined) expect(kept[0][1].equals(bytes)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('reads file after file into one buffer, each hashed whole', async () => {
    const files = [3000, 10, 5000, 0, 64 * KiB].map((size, i) => ({
      file: join(dir, `r${i}`),
      bytes: randomBytes(size),
    }));
    for (const { file, bytes } of files) await writeFile(file, bytes);
    for (const { file, bytes } of files) {
      const hashed = await hashFile(file, { sizeHint: bytes.length });
      expect(hashed.hash).toBe(sha(bytes).toString('hex'));
      expect(hashed.size).toBe(bytes.length);
      expect(hashed.blocks).toEqual(bytes.length === 0 ? Buffer.alloc(0) : sha(bytes));
      // Many blocks (a small block size, as tests use): the same list as the streaming path's.
      const small = { blockSize: 1024 };
      const direct = await hashFile(file, { ...small, sizeHint: bytes.length });
      expect(direct).toEqual({ ...(await hashFile(file, small)), read: direct.read });
    }
  });
});

describe('hashFile of a small file: what was read, from its descriptor (issue 16)', () => {
  it('gives the size, mtime and inode the open file had once read', async () => {
    const file = join(dir, 'f');
    await writeFile(file, randomBytes(5000));
    const hashed = await hashFile(file, { sizeHint: 5000 });
    const stat = statSync(file, { bigint: true });
    expect(hashed.read).toEqual({ size: 5000n, mtimeNs: stat.mtimeNs, ino: stat.ino });
  });

  it('reads a file that grew past its hint to its end, and says how large it was', async () => {
    for (const [hint, size] of [
      [4 * KiB, 10 * KiB],
      [100, 200 * KiB],
    ] as const) {
      const bytes = randomBytes(size);
      const file = join(dir, `grew${size}`);
      await writeFile(file, bytes);
      const hashed = await hashFile(file, { sizeHint: hint });
      expect(hashed.hash).toBe(sha(bytes).toString('hex'));
      expect(hashed.size).toBe(size);
      expect(hashed.read?.size).toBe(BigInt(size));
    }
  });

  it('tells a file that shrank below its hint by its size', async () => {
    const file = join(dir, 'shrank');
    await writeFile(file, randomBytes(300));
    const hashed = await hashFile(file, { sizeHint: 4000 });
    expect(hashed.size).toBe(300);
    expect(hashed.read?.size).toBe(300n);
  });

  it('refuses a directory put where a file was', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    await expect(hashFile(sub, { sizeHint: 10 })).rejects.toBeInstanceOf(NotARegularFileError);
  });

  it.skipIf(process.platform === 'win32')(
    'refuses a FIFO put where a file was, with or without a writer and bytes in it',
    async () => {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      await expect(hashFile(fifo, { sizeHint: 10 })).rejects.toBeInstanceOf(NotARegularFileError);
      // Opened read-write, this process is a writer: an empty read would wait (EAGAIN).
      const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
      try {
        writeSync(writer, Buffer.alloc(100, 1));
        await expect(hashFile(fifo, { sizeHint: 10 })).rejects.toBeInstanceOf(NotARegularFileError);
        writeSync(writer, Buffer.alloc(100, 1));
        await expect(hashFile(fifo, { sizeHint: 100 })).rejects.toBeInstanceOf(
          NotARegularFileError,
        );
      } finally {
        closeSync(writer);
      }
    },
  );

  it('refuses a device that never ends, without reading it all', async () => {
    await expect(hashFile('/dev/zero', { sizeHint: 10 })).rejects.toBeInstanceOf(
      NotARegularFileError,
    );
  });
});

describe('changedBlocks', () => {
  it('finds exactly the blocks that were modified', async () => {
    const blockSize = 1024;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 20 * KiB }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (bytes, picks) => {
          const count = Math.ceil(bytes.length / blockSize);
          const modified = [...new Set(picks.map((p) => p % count))].sort((a, b) => a - b);
          const next = Buffer.from(bytes);
          for (const block of modified) {
            const at = Math.min(bytes.length - 1, block * blockSize + (block % blockSize));
            next[at] = (next[at] ?? 0) ^ 0xff;
          }
          const a = join(dir, `a${n}`);
          const b = join(dir, `b${n++}`);
          await writeFile(a, bytes);
          await writeFile(b, next);
          const before = await hashFile(a, { blockSize });
          const after = await hashFile(b, { blockSize });
          expect(changedBlocks(before, after)).toEqual(modified);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('lists appended blocks and the partial block that grew; all of them when nothing compares', () => {
    const blockSize = 1024;
    const old = Buffer.alloc(2500, 1);
    const grown = Buffer.concat([old, Buffer.alloc(3000, 2)]);
    const before = { blockSize, blocks: blocksOf(old, blockSize) };
    const after = { blockSize, blocks: blocksOf(grown, blockSize) };
    expect(changedBlocks(before, after)).toEqual([2, 3, 4, 5]);
    expect(changedBlocks(null, after)).toEqual([0, 1, 2, 3, 4, 5]);
    const otherSize = { blockSize: 2048, blocks: blocksOf(grown, 2048) };
    expect(changedBlocks(before, otherSize)).toEqual([0, 1, 2]);
    expect(changedBlocks(after, before)).toEqual([2]);
  });
});
