import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FRAME_CHUNK_BYTES,
  FRAME_HEADER_BYTES,
  FrameError,
  frameHeader,
  readFrames,
  writeFrames,
} from './frames.js';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* rechunk(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function* inChunks(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) yield await Promise.resolve(chunk);
}

class OtherError extends FrameError {}

describe('readFrames over a stream', () => {
  it("yields a whole frame as a view of the stream's own chunk, not of a joined copy", async () => {
    const contents = Array.from({ length: 50 }, (_, i) => Buffer.alloc(3000, i));
    const parts: Buffer[] = [];
    for await (const part of writeFrames(
      contents.map(sha),
      async (hash) => contents.find((c) => sha(c) === hash) ?? null,
    )) {
      parts.push(Buffer.from(part));
    }
    // One frame per chunk, all buffered before the reader starts (a receiver's busy moment).
    const whole = Buffer.concat(parts);
    const chunks: Buffer[] = [];
    for (let at = 0; at < whole.length; at += FRAME_HEADER_BYTES + 3000) {
      chunks.push(Buffer.from(whole.subarray(at, at + FRAME_HEADER_BYTES + 3000)));
    }
    const stream = new Readable({ read() {} });
    for (const chunk of chunks) stream.push(chunk);
    stream.push(null);
    const sizes = contents.map((c) => ({ hash: sha(c), size: c.length }));
    const frames = await collect(readFrames(stream, sizes, { views: true, verify: true }));
    expect(frames).toHaveLength(50);
    // Before: `for await` over the stream joined the buffered chunks into one new buffer.
    frames.forEach((frame, i) => {
      expect(frame.data?.buffer === chunks[i]?.buffer).toBe(true);
    });
  });
});

/** Two framed items of 100 bytes, and the sizes to read them back with. */
async function twoFrames() {
  const items = [randomBytes(100), randomBytes(100)];
  const body = Buffer.concat(
    await collect(
      writeFrames(
        items.map(sha),
        async (hash) => items[hash === sha(items[0] as Buffer) ? 0 : 1] ?? null,
      ),
    ),
  );
  const sizes = items.map((item) => ({ hash: sha(item), size: item.length }));
  return { items, body, sizes };
}

describe('frames', () => {
  it('frames any items so the reader gets them back in order, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (items, chunk, readAhead, views) => {
          const wanted = items.map((item, i) => {
            const data = item === null ? null : Buffer.from(item);
            // An absent item gets a name of its own (another index), so names stay distinct.
            return { hash: sha(data ?? Buffer.from(`absent ${i}`)), data };
          });
          const unique = [...new Map(wanted.map((w) => [w.hash, w])).values()];
          const byHash = new Map(unique.map((w) => [w.hash, w.data]));
          const body = Buffer.concat(
            await collect(
              writeFrames(
                unique.map((w) => w.hash),
                async (hash) => byHash.get(hash) ?? null,
                { readAhead },
              ),
            ),
          );
          const sizes = unique.map((w) => ({ hash: w.hash, size: w.data?.length ?? 7 }));
          const frames = await collect(
            readFrames(rechunk(body, chunk), sizes, { verify: true, views }),
          );
          expect(frames).toEqual(unique.map((w) => ({ hash: w.hash, data: w.data })));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('yields a frame that came whole in one chunk as a view of it only when asked to', async () => {
    const { items, body, sizes } = await twoFrames();
    // One chunk holds the first frame whole; the second is split across two.
    const chunks = [body.subarray(0, 200), body.subarray(200)];
    const viewed = await collect(readFrames(inChunks(chunks), sizes, { views: true }));
    const copied = await collect(readFrames(inChunks(chunks), sizes));
    expect(viewed.map((f) => f.data)).toEqual(items);
    expect(copied.map((f) => f.data)).toEqual(items);
    // The received bytes overwritten: only the first frame, viewed, shows it.
    body.fill(0);
    expect(viewed[0]?.data?.every((byte) => byte === 0)).toBe(true);
    expect(viewed[1]?.data).toEqual(items[1]);
    expect(copied.map((f) => f.data)).toEqual(items);
  });

  it("copies each frame's bytes into the buffers `allocate` gives, whole or split", async () => {
    const { items, body, sizes } = await twoFrames();
    const given: Buffer[] = [];
    const allocate = (length: number): Buffer => {
      const buffer = Buffer.alloc(length + 10).subarray(5, 5 + length);
      given.push(buffer);
      return buffer;
    };
    // The first frame whole in one chunk, the second split across two.
    const chunks = [body.subarray(0, 200), body.subarray(200)];
    const frames = await collect(readFrames(inChunks(chunks), sizes, { verify: true, allocate }));
    expect(frames.map((f) => f.data)).toEqual(items);
    expect(given).toHaveLength(2);
    expect(frames[0]?.data).toBe(given[0]);
    expect(frames[1]?.data).toBe(given[1]);
  });

  it('writes the header: raw hash, status, big-endian length', () => {
    const hash = 'ab'.repeat(32);
    const present = frameHeader(hash, 258);
    expect(present.length).toBe(FRAME_HEADER_BYTES);
    expect(present.subarray(0, 32).toString('hex')).toBe(hash);
    expect([...present.subarray(32)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2]);
    expect([...frameHeader(hash, null).subarray(32)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => frameHeader('zz', 1)).toThrow(/Not a SHA-256/);
  });

  it('checks the bytes against their hash only when asked to', async () => {
    const data = randomBytes(50);
    const hash = sha(data);
    const forged = Buffer.concat([frameHeader(hash, 50), randomBytes(50)]);
    const wanted = [{ hash, size: 50 }];
    expect(await collect(readFrames(rechunk(forged, 9), wanted))).toHaveLength(1);
    await expect(
      collect(readFrames(rechunk(forged, 9), wanted, { verify: true, error: OtherError })),
    ).rejects.toThrow(OtherError);
  });

  it('accepts "not available" with a length only when not strict', async () => {
    const hash = sha(Buffer.from('x'));
    const header = frameHeader(hash, null);
    header.writeBigUInt64BE(5n, 33);
    const wanted = [{ hash, size: 1 }];
    expect(await collect(readFrames(rechunk(header, 100), wanted))).toEqual([{ hash, data: null }]);
    await expect(
      collect(readFrames(rechunk(header, 100), wanted, { strictAbsent: true })),
    ).rejects.toThrow(/wrong length/);
  });

  it('refuses reordered, truncated and extra frames', async () => {
    const a = randomBytes(20);
    const b = randomBytes(30);
    const fa = Buffer.concat([frameHeader(sha(a), 20), a]);
    const fb = Buffer.concat([frameHeader(sha(b), 30), b]);
    const wanted = [
      { hash: sha(a), size: 20 },
      { hash: sha(b), size: 30 },
    ];
    const read = (body: Buffer) => collect(readFrames(rechunk(body, 11), wanted));
    await expect(read(Buffer.concat([fb, fa]))).rejects.toThrow(/unexpected frame/);
    await expect(read(Buffer.concat([fa, fb]).subarray(0, 90))).rejects.toThrow(/ended early/);
    await expect(read(fa)).rejects.toThrow(/ended early/);
    await expect(read(Buffer.concat([fa, fb, Buffer.from('!')]))).rejects.toThrow(FrameError);
  });

  it('fails the stream in order when a load fails, and only when its turn comes', async () => {
    const slow = randomBytes(10);
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hashes = [sha(slow), sha(Buffer.from('broken'))];
    const frames = writeFrames(hashes, async (hash) => {
      if (hash === hashes[1]) throw new Error('disk gone');
      await gate;
      return slow;
    });
    const first = frames.next();
    // The second load has failed before the first is done: no unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    expect((await first).value).toEqual(Buffer.concat([frameHeader(hashes[0] ?? '', 10), slow]));
    await expect(frames.next()).rejects.toThrow('disk gone');
  });

  it('sends small frames together in chunks, a large one uncopied, and waits on no slow load', async () => {
    const small = Array.from({ length: 100 }, () => randomBytes(4096));
    const large = randomBytes(FRAME_CHUNK_BYTES);
    const late = randomBytes(10);
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const items = [...small, large, late];
    const byHash = new Map(items.map((data) => [sha(data), data]));
    const hashes = [...byHash.keys()];
    const frames = writeFrames(hashes, async (hash) => {
      const data = byHash.get(hash) ?? null;
      if (data === late) await gate;
      return data;
    });
    const chunks: Buffer[] = [];
    // Everything before the late item arrives while its load still waits.
    for (let i = 0; ; i++) {
      const step = await frames.next();
      if (step.done === true) throw new Error('ended early');
      const value = step.value;
      chunks.push(value);
      if (value === large) break;
      if (i > 100) throw new Error('the large item was copied');
    }
    // 100 frames of 4 137 bytes in chunks of at most 64 KiB: 7, then the large one's header.
    expect(chunks.length).toBe(9);
    expect(chunks.every((c) => c.length <= FRAME_CHUNK_BYTES)).toBe(true);
    release();
    chunks.push(...(await collect(frames)));
    const sizes = items.map((data) => ({ hash: sha(data), size: data.length }));
    const read = await collect(readFrames(rechunk(Buffer.concat(chunks), 1000), sizes));
    expect(read.map((f) => f.data)).toEqual(items);
  });
});
