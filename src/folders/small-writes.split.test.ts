/**
 * Frames split across a response's chunks are gathered into SmallWrites' pooled buffers
 * (`allocate`): a buffer is filled again only after the bytes it held were written, also while
 * creates go through the thread pool and the reader runs ahead of the writes.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readFrames, writeFrames } from './content-frames.js';
import { sha256Hex } from './testing.js';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  // Every direct create is slow (a journal commit under way): after three, SmallWrites creates
  // through the pool, so writes end turns after the frames behind them were read.
  const openSync = (...args: Parameters<typeof fs.openSync>) => {
    const until = performance.now() + 1.5;
    while (performance.now() < until);
    return fs.openSync(...args);
  };
  return { ...fs, default: { ...fs, openSync }, openSync };
});

const { SmallWrites } = await import('./small-writes.js');
const { placeEach } = await import('./place-each.js');
const { FILES_HELD } = await import('./temp-writes.js');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mosaic-small-split-'));
  await mkdir(join(root, '.mosaic', 'tmp'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The frames of `contents` as a response cut into chunks of `chunk` bytes. */
async function* response(contents: readonly Buffer[], chunk: number): AsyncGenerator<Buffer> {
  const byHash = new Map(contents.map((c) => [sha256Hex(c), c]));
  const parts: Buffer[] = [];
  for await (const part of writeFrames([...byHash.keys()], (hash) =>
    Promise.resolve(byHash.get(hash) ?? null),
  )) {
    parts.push(Buffer.from(part)); // the writer reuses its chunks
  }
  const whole = Buffer.concat(parts);
  for (let at = 0; at < whole.length; at += chunk) {
    yield whole.subarray(at, at + chunk);
    await Promise.resolve();
  }
}

// Both ways of writing the temp files (temp-writes.ts): groups on the pool, direct calls.
describe.each([
  ['on the pool', true],
  ['by direct calls', false],
] as const)('split frames in pooled buffers (%s)', (_way, onPool) => {
  it('writes every file with its own bytes and reuses a handful of buffers for all of them', async () => {
    const contents = Array.from({ length: 300 }, (_, i) =>
      Buffer.alloc(2000 + ((i * 37) % 5000), `file ${i} `),
    );
    const placed = new Map<string, Buffer>();
    const writes = new SmallWrites(
      {
        root,
        aboutToPlace: () => {},
        placeAll: (files) =>
          placeEach(
            files,
            async ({ wanted, tmp }) => {
              placed.set(wanted.hash, await readFile(tmp));
              await rm(tmp);
            },
            (wanted) => {
              throw new Error(`${wanted.row.path} dropped`);
            },
          ),
        wrongContent: (wanted) => {
          throw new Error(`${wanted.row.path}: wrong content`);
        },
        failed: (_wanted, error) => {
          throw error;
        },
        written: () => {},
      },
      undefined,
      undefined,
      onPool,
    );
    const buffers = new Set<ArrayBufferLike>();
    let taken = 0;
    const allocate = (length: number): Buffer => {
      const data = writes.allocate(length);
      taken++;
      buffers.add(data.buffer);
      return data;
    };
    const expected = contents.map((c) => ({ hash: sha256Hex(c), size: c.length }));
    let i = 0;
    for await (const frame of readFrames(response(contents, 1000), expected, allocate)) {
      if (frame.data === null) throw new Error('absent');
      const row = { path: `f${i++}`, mtimeMs: 1_700_000_000_000, size: frame.data.length };
      const wanted = { row, target: join(root, row.path), hash: frame.hash };
      await writes.add(wanted as Parameters<typeof writes.add>[0], frame.data);
    }
    await writes.settle();
    expect(taken).toBe(contents.length); // every frame was split (1 000-byte chunks)
    expect(placed.size).toBe(contents.length);
    for (const c of contents) expect(placed.get(sha256Hex(c))).toEqual(c);
    // Those in flight (the writes under way, and the one being read), not one per frame.
    expect(buffers.size).toBeLessThanOrEqual(FILES_HELD + 8);
  });
});
