import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobBatchError, receiveBlobBatch, type WholeBlob } from './blob-batch.js';
import {
  BlobFrameError,
  blobFrameHeader,
  readBlobFrames,
  writeBlobFrames,
  type BlobFrame,
} from './blob-frames.js';
import { LocalBlobStore } from './local-blob-store.js';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function blob(size: number): { hash: string; data: Buffer; size: number } {
  const data = randomBytes(size);
  return { hash: sha(data), data, size };
}

function frame(hash: string, data: Buffer | null): Buffer {
  return data === null
    ? blobFrameHeader(hash, null)
    : Buffer.concat([blobFrameHeader(hash, data.length), data]);
}

/** The body cut into chunks of `chunk` bytes, so frames straddle chunk boundaries. */
function body(parts: Buffer[], chunk = 7): Readable {
  const all = Buffer.concat(parts);
  const chunks: Buffer[] = [];
  for (let i = 0; i < all.length; i += chunk) chunks.push(all.subarray(i, i + chunk));
  return Readable.from(chunks);
}

async function collect(frames: AsyncIterable<BlobFrame>): Promise<BlobFrame[]> {
  const out: BlobFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

describe('blob frames', () => {
  const a = blob(1000);
  const b = blob(0);
  const c = blob(5000);
  const expected = [a, b, c].map(({ hash, size }) => ({ hash, size }));

  it('reads frames in order, verified, with absent blobs as null', async () => {
    const frames = await collect(
      readBlobFrames(
        body([frame(a.hash, a.data), frame(b.hash, null), frame(c.hash, c.data)]),
        expected,
      ),
    );
    expect(frames.map((f) => f.hash)).toEqual([a.hash, b.hash, c.hash]);
    expect(frames[0]?.data).toEqual(a.data);
    expect(frames[1]?.data).toBeNull();
    expect(frames[2]?.data).toEqual(c.data);
  });

  it('refuses a frame whose bytes do not hash to its name, after yielding the good ones', async () => {
    const bad = Buffer.from(c.data);
    bad[100] = (bad[100] ?? 0) ^ 1;
    const got: string[] = [];
    await expect(async () => {
      for await (const f of readBlobFrames(
        body([frame(a.hash, a.data), frame(b.hash, null), frame(c.hash, bad)]),
        expected,
      ))
        got.push(f.hash);
    }).rejects.toThrow(BlobFrameError);
    expect(got).toEqual([a.hash, b.hash]);
  });

  it('refuses a truncated batch (inside a frame, inside a header, or a frame missing)', async () => {
    const whole = Buffer.concat([
      frame(a.hash, a.data),
      frame(b.hash, null),
      frame(c.hash, c.data),
    ]);
    for (const cut of [whole.length - 1, whole.length - c.size - 20, whole.length - c.size - 41]) {
      await expect(
        collect(readBlobFrames(body([whole.subarray(0, cut)]), expected)),
      ).rejects.toThrow(BlobFrameError);
    }
  });

  it('refuses reordered frames, a wrong length, and bytes after the last frame', async () => {
    const reordered = body([frame(b.hash, null), frame(a.hash, a.data), frame(c.hash, c.data)]);
    await expect(collect(readBlobFrames(reordered, expected))).rejects.toThrow(/unexpected frame/);
    const longer = Buffer.concat([a.data, Buffer.from('x')]);
    const wrongLength = body([frame(a.hash, longer), frame(b.hash, null), frame(c.hash, c.data)]);
    await expect(collect(readBlobFrames(wrongLength, expected))).rejects.toThrow(/wrong length/);
    const extra = body([
      frame(a.hash, a.data),
      frame(b.hash, null),
      frame(c.hash, c.data),
      Buffer.from('!'),
    ]);
    await expect(collect(readBlobFrames(extra, expected))).rejects.toThrow(BlobFrameError);
  });
});

describe('a batch through the local store', () => {
  let root: string;
  let store: LocalBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'mosaic-batch-'));
    store = new LocalBlobStore(root);
    await store.init();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('serves frames from the store and stores what the reader verified', async () => {
    const items = [blob(3000), blob(10), blob(70_000)];
    const source = new LocalBlobStore(join(root, 'source'));
    await source.init();
    for (const item of items.slice(0, 2))
      await source.receive(item.hash, item.size, Readable.from([item.data]), 0);
    const wanted = items.map(({ hash, size }) => ({ hash, size }));
    const frames = readBlobFrames(
      Readable.from(
        writeBlobFrames(
          wanted.map((w) => w.hash),
          source,
        ),
      ),
      wanted,
    );
    async function* present() {
      for await (const f of frames) if (f.data !== null) yield { hash: f.hash, data: f.data };
    }
    const stored = await receiveBlobBatch(store, present());
    expect(stored.sort()).toEqual([items[0]?.hash, items[1]?.hash].sort());
    for (const item of items.slice(0, 2)) expect(await store.size(item.hash)).toBe(item.size);
    expect(await store.has(items[2]?.hash ?? '')).toBe(false);
    expect(await readdir(store.tmpDir)).toEqual([]);
  });

  it('stores nothing that fails its hash, and reports what was stored before a failure', async () => {
    const good = blob(100);
    const forged = { hash: blob(100).hash, data: randomBytes(100) };
    async function* items(): AsyncGenerator<WholeBlob> {
      yield { hash: good.hash, data: good.data };
      yield forged;
    }
    const error = await receiveBlobBatch(store, items()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlobBatchError);
    expect((error as BlobBatchError).stored).toEqual([good.hash]);
    expect(await store.has(good.hash)).toBe(true);
    expect(await store.has(forged.hash)).toBe(false);
  });
});
