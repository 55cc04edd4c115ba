import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readHead } from './streams.js';

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
