import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readAll, readHead } from './streams.js';

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
