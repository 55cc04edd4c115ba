import { once } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chunksOf, readAll, readHead } from './streams.js';

describe('readHead', () => {
  it('reads only what it needs and stops the stream', async () => {
    let pulled = 0;
    const stream = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1000, pulled));
      },
    });
    const head = await readHead(stream, 2500);
    expect(head.length).toBe(2500);
    expect(head[0]).toBe(1);
    expect(head[2499]).toBe(3);
    expect(pulled).toBeLessThan(10);
    expect(stream.destroyed).toBe(true);
  });

  it('returns a shorter stream whole', async () => {
    expect((await readHead(Readable.from([Buffer.from('abc')]), 10)).toString()).toBe('abc');
  });
});

describe('readAll', () => {
  it('gives a one-chunk stream its chunk, not a copy (an upload staged in memory)', async () => {
    const bytes = Buffer.from('the staged upload');
    const all = await readAll(Readable.from([bytes], { objectMode: false }));
    expect(all.buffer).toBe(bytes.buffer);
    expect(all.equals(bytes)).toBe(true);
    const head = await readHead(Readable.from([bytes], { objectMode: false }), 3);
    expect(head.toString()).toBe('the');
  });

  it('joins any chunks into the bytes sent, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 8 }),
        async (parts) => {
          const chunks = parts.map((p) => Buffer.from(p));
          const all = await readAll(Readable.from(chunks, { objectMode: false }));
          expect(all.equals(Buffer.concat(chunks))).toBe(true);
          const limit = Math.floor(all.length / 2);
          const head = await readHead(Readable.from(chunks, { objectMode: false }), limit);
          expect(head.equals(Buffer.concat(chunks).subarray(0, limit))).toBe(true);
        },
      ),
    );
  });
});

describe('chunksOf', () => {
  it('hands on each chunk as it was pushed, in order, none joined to the next', async () => {
    const pushed = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000 + i, i));
    // All of them buffered before the reader looks: a `for await` would get one joined buffer.
    const stream = new Readable({ read() {} });
    for (const chunk of pushed) stream.push(chunk);
    stream.push(null);
    const got: Buffer[] = [];
    for await (const chunk of chunksOf(stream)) got.push(chunk);
    expect(got).toHaveLength(pushed.length);
    got.forEach((chunk, i) => {
      expect(chunk).toBe(pushed[i]);
    });
  });

  it('pauses a stream whose reader is behind, and resumes it', async () => {
    let pulled = 0;
    const stream = new Readable({
      highWaterMark: 1,
      read() {
        pulled++;
        this.push(pulled <= 200 ? Buffer.alloc(10, pulled) : null);
      },
    });
    let most = 0;
    let count = 0;
    for await (const chunk of chunksOf(stream)) {
      count++;
      expect(chunk[0]).toBe(count % 256);
      // The reader is slow: the stream must not run ahead of it without bound.
      await new Promise((resolve) => setImmediate(resolve));
      most = Math.max(most, pulled - count);
    }
    expect(count).toBe(200);
    expect(most).toBeLessThanOrEqual(32);
  });

  it("throws the stream's error, also when it was destroyed with it just before", async () => {
    const failing = new Readable({ read() {} });
    failing.push(Buffer.from('a'));
    const reading = (async () => {
      const got: string[] = [];
      for await (const chunk of chunksOf(failing)) {
        got.push(chunk.toString());
        failing.destroy(new Error('reset by peer'));
      }
      return got;
    })();
    await expect(reading).rejects.toThrow('reset by peer');
  });

  it('ends at once for a stream read to its end before', async () => {
    // Ended, not destroyed: no 'end' or 'close' is coming any more.
    const stream = new Readable({ read() {}, autoDestroy: false });
    stream.push(Buffer.from('all'));
    stream.push(null);
    stream.resume();
    await once(stream, 'end');
    expect(stream.destroyed).toBe(false);
    const got: Buffer[] = [];
    for await (const chunk of chunksOf(stream)) got.push(chunk);
    expect(got).toEqual([]);
  });

  it('ends when the stream is closed before its end (the caller sees what is missing)', async () => {
    const stream = new Readable({ read() {} });
    stream.push(Buffer.from('part'));
    setImmediate(() => stream.destroy());
    const got: string[] = [];
    for await (const chunk of chunksOf(stream)) got.push(chunk.toString());
    expect(got).toEqual(['part']);
  });
});
