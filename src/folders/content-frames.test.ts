import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DIRECT_READ_MAX,
  FrameError,
  MAX_FRAMED_FILE_BYTES,
  SLOT_BYTES,
  frameHeader,
  readFrames,
  writeFrames,
  type ContentFrame,
} from './content-frames.js';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function collect(iterable: AsyncIterable<ContentFrame>): Promise<ContentFrame[]> {
  const out: ContentFrame[] = [];
  for await (const frame of iterable) out.push(frame);
  return out;
}

/** The same bytes, cut into chunks at the given sizes (how a socket may deliver them). */
async function* rechunk(data: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = Math.max(1, sizes[i % Math.max(1, sizes.length)] ?? data.length);
    yield data.subarray(at, at + size);
    at += size;
  }
}

describe('content frames', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-frames-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('carries many files in request order, however the bytes are chunked', async () => {
    const files = [randomBytes(0), randomBytes(1), randomBytes(4096), randomBytes(70_000)];
    const located = new Map<string, string>();
    for (const [i, data] of files.entries()) {
      await writeFile(join(dir, `f${i}`), data);
      located.set(sha(data), join(dir, `f${i}`));
    }
    const absent = sha(Buffer.from('nobody has this'));
    const wanted = [
      ...files.map((d) => ({ hash: sha(d), size: d.length })),
      { hash: absent, size: 12 },
    ];
    const chunks: Buffer[] = [];
    for await (const chunk of writeFrames(
      wanted.map((w) => w.hash),
      async (hash) => located.get(hash) ?? null,
    )) {
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9000 }), { maxLength: 8 }),
        async (sizes) => {
          const frames = await collect(readFrames(rechunk(body, sizes), wanted));
          expect(frames.map((f) => f.hash)).toEqual(wanted.map((w) => w.hash));
          files.forEach((data, i) => {
            expect(frames[i]?.data?.equals(data)).toBe(true);
          });
          expect(frames[4]?.data).toBeNull();
        },
      ),
      { numRuns: 50 },
    );
  });

  it('sends a file larger than the batch limit, or one that is gone, as not available', async () => {
    const big = join(dir, 'big');
    await writeFile(big, Buffer.alloc(MAX_FRAMED_FILE_BYTES + 1));
    const hashes = ['a'.repeat(64), 'b'.repeat(64)];
    const paths = new Map([
      [hashes[0], big],
      [hashes[1], join(dir, 'gone')],
    ]);
    const chunks: Buffer[] = [];
    for await (const chunk of writeFrames(hashes, async (h) => paths.get(h) ?? null)) {
      chunks.push(chunk);
    }
    const frames = await collect(
      readFrames(rechunk(Buffer.concat(chunks), []), [
        { hash: hashes[0] ?? '', size: MAX_FRAMED_FILE_BYTES + 1 },
        { hash: hashes[1] ?? '', size: 3 },
      ]),
    );
    expect(frames.map((f) => f.data)).toEqual([null, null]);
  });

  it('reads small files directly and larger ones through the pool; a FIFO is not available', async () => {
    const sizes = [0, 10, DIRECT_READ_MAX, DIRECT_READ_MAX + 1, 200 * 1024];
    const files = sizes.map((size) => randomBytes(size));
    const paths = new Map<string, string>();
    for (const [i, data] of files.entries()) {
      const file = join(dir, `f${i}`);
      await writeFile(file, data);
      paths.set(sha(data), file);
    }
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const hashes = [...paths.keys(), 'f'.repeat(64)];
    paths.set('f'.repeat(64), fifo);
    const chunks: Buffer[] = [];
    for await (const chunk of writeFrames(hashes, async (h) => paths.get(h) ?? null)) {
      chunks.push(chunk);
    }
    const frames = await collect(
      readFrames(rechunk(Buffer.concat(chunks), []), [
        ...files.map((data) => ({ hash: sha(data), size: data.length })),
        { hash: 'f'.repeat(64), size: 0 },
      ]),
    );
    expect(frames.map((f) => f.data)).toEqual([...files, null]);
  });

  it('sends a symbolic link found at a located path as not available, not its target', async () => {
    // The link made after `locate` checked the path: its target is outside the folder.
    const secret = randomBytes(100);
    const outside = join(dir, 'outside');
    await writeFile(outside, secret);
    const located = join(dir, 'located');
    await symlink(outside, located);
    const chunks: Buffer[] = [];
    for await (const chunk of writeFrames([sha(secret)], async () => located)) chunks.push(chunk);
    const frames = await collect(
      readFrames(rechunk(Buffer.concat(chunks), []), [{ hash: sha(secret), size: secret.length }]),
    );
    expect(frames.map((f) => f.data)).toEqual([null]);
  });

  it('reuses a few slots for a whole response of small files, each frame its own bytes', async () => {
    // Half read from disk, half handed over in the slot the writer gives (as the recent-content
    // ring does), sizes across the slot's limit, a few absent: every frame must carry its bytes.
    const sizes = Array.from({ length: 300 }, (_, i) => (i * 977) % (SLOT_BYTES + 300));
    const files = sizes.map((size) => randomBytes(size));
    const onDisk = new Map<string, string>();
    const inHand = new Map<string, Buffer>();
    for (const [i, data] of files.entries()) {
      if (i % 2 === 0) {
        await writeFile(join(dir, `f${i}`), data);
        onDisk.set(sha(data), join(dir, `f${i}`));
      } else inHand.set(sha(data), data);
    }
    const hashes = files.map(sha);
    hashes.splice(100, 0, 'e'.repeat(64));
    const slots = new Set<ArrayBufferLike>();
    const chunks: Buffer[] = [];
    for await (const chunk of writeFrames(hashes, async (hash, scratch) => {
      const data = inHand.get(hash);
      if (data === undefined) return onDisk.get(hash) ?? null;
      const slot = scratch(data.length);
      if (slot === null) return Buffer.from(data);
      slots.add(slot.buffer);
      return slot.subarray(0, data.copy(slot));
    })) {
      chunks.push(chunk);
    }
    const expected = [...files.slice(0, 100), null, ...files.slice(100)];
    const got = await collect(
      readFrames(
        rechunk(Buffer.concat(chunks), [5000]),
        hashes.map((hash, i) => ({ hash, size: expected[i]?.length ?? 0 })),
      ),
    );
    // Compared by hash: a deep equality of 300 buffers of up to 64 KiB takes seconds.
    expect(got.map((f) => (f.data === null ? null : sha(f.data)))).toEqual(
      expected.map((d) => (d === null ? null : sha(d))),
    );
    // Read-ahead of 8: at most 9 slots in all, for 300 files.
    expect(slots.size).toBeGreaterThan(0);
    expect(slots.size).toBeLessThanOrEqual(9);
  });

  it('refuses frames out of order, of another length, or cut short', async () => {
    const data = Buffer.from('hello');
    const hash = sha(data);
    const good = Buffer.concat([frameHeader(hash, data.length), data]);
    const other = sha(Buffer.from('other'));
    await expect(
      collect(readFrames(rechunk(good, []), [{ hash: other, size: 5 }])),
    ).rejects.toThrow(FrameError);
    await expect(collect(readFrames(rechunk(good, []), [{ hash, size: 4 }]))).rejects.toThrow(
      FrameError,
    );
    await expect(
      collect(readFrames(rechunk(good.subarray(0, good.length - 1), []), [{ hash, size: 5 }])),
    ).rejects.toThrow(FrameError);
    // A frame the receiver did not ask for, after the ones it did.
    await expect(
      collect(readFrames(rechunk(Buffer.concat([good, good]), []), [{ hash, size: 5 }])),
    ).rejects.toThrow(FrameError);
    // Fewer frames than asked for.
    await expect(
      collect(
        readFrames(rechunk(good, []), [
          { hash, size: 5 },
          { hash: other, size: 5 },
        ]),
      ),
    ).rejects.toThrow(FrameError);
  });
});
