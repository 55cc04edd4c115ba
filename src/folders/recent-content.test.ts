import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecentContent } from './recent-content.js';

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe('the bytes of just-hashed small files', () => {
  it('keeps at most maxBytes, oldest out first, and never a file above maxFileBytes', () => {
    const recent = new RecentContent({ maxBytes: 10, maxFileBytes: 4 });
    recent.put('a', bytes(4));
    recent.put('b', bytes(4));
    recent.put('big', bytes(5));
    expect(recent.get('big')).toBeNull();
    recent.put('c', bytes(4));
    expect(recent.get('a')).toBeNull();
    expect(recent.get('b')?.length).toBe(4);
    expect(recent.get('c')?.length).toBe(4);
    expect(recent.heldBytes).toBe(8);
  });

  it('keeps at most maxEntries, however small the files', () => {
    const recent = new RecentContent({ maxEntries: 3 });
    for (const hash of ['a', 'b', 'c', 'd', 'e']) recent.put(hash, bytes(10));
    expect(recent.size).toBe(3);
    expect(recent.get('b')).toBeNull();
    expect(recent.get('c')?.length).toBe(10);
    expect(recent.heldBytes).toBe(30);
  });

  it('lets entries go once older than keepMs, so an idle node holds nothing', () => {
    let now = 1000;
    const recent = new RecentContent({ keepMs: 100, now: () => now });
    recent.put('a', bytes(3));
    now += 60;
    recent.put('b', bytes(3));
    now += 40;
    recent.expire();
    expect(recent.get('a')).toBeNull();
    expect(recent.get('b')?.length).toBe(3);
    now += 60;
    recent.expire();
    expect(recent.size).toBe(0);
    expect(recent.heldBytes).toBe(0);
  });

  it('expires on its own after a burst (a timer that does not keep the process alive)', async () => {
    const recent = new RecentContent({ keepMs: 20 });
    recent.put('a', bytes(3));
    const deadline = Date.now() + 2000;
    while (recent.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(recent.size).toBe(0);
    recent.clear();
  });

  it('answers the bytes put, whatever the caller does with its buffer after', () => {
    const recent = new RecentContent({ maxBytes: 10, maxFileBytes: 10 });
    const scratch = Buffer.from('abcdefgh');
    recent.put('x', scratch.subarray(0, 3));
    scratch.fill(0);
    expect(recent.get('x')?.toString()).toBe('abc');
    // Around the ring's end: 'y' cannot follow 'x' (3 + 8 > 10), starts again at 0, 'x' goes.
    recent.put('y', Buffer.from('12345678'));
    expect(recent.get('x')).toBeNull();
    expect(recent.get('y')?.toString()).toBe('12345678');
    const answer = recent.get('y');
    answer?.fill(0);
    expect(recent.get('y')?.toString()).toBe('12345678');
    recent.put('z', Buffer.from('zz'));
    expect(recent.get('y')?.toString()).toBe('12345678');
    expect(recent.get('z')?.toString()).toBe('zz');
    recent.clear();
  });

  it('lets its ring go once nothing is held', () => {
    let now = 0;
    const recent = new RecentContent({ keepMs: 10, now: () => now });
    recent.put('a', bytes(3));
    expect(recent.heldBytes).toBe(3);
    now = 20;
    recent.expire();
    expect(recent.size).toBe(0);
    expect((recent as unknown as { ring: Buffer | undefined }).ring).toBeUndefined();
    recent.put('b', bytes(3, 9));
    expect(recent.get('b')).toEqual(bytes(3, 9));
    recent.clear();
  });

  it('answers each hash with exactly its bytes or nothing, within its bounds, whatever the puts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 60 }),
        (maxBytes, maxEntries, puts) => {
          const recent = new RecentContent({ maxBytes, maxEntries, maxFileBytes: 64 });
          const put = new Map<string, Buffer>();
          puts.forEach((bytes, i) => {
            const hash = `h${i % 20}`;
            const data = Buffer.from(bytes);
            if (!put.has(hash) || recent.get(hash) === null) put.set(hash, data);
            recent.put(hash, data);
          });
          let held = 0;
          for (const [hash, data] of put) {
            const got = recent.get(hash);
            if (got !== null) {
              expect(got).toEqual(data);
              held += got.length;
            }
          }
          expect(held).toBe(recent.heldBytes);
          expect(recent.heldBytes).toBeLessThanOrEqual(maxBytes);
          expect(recent.size).toBeLessThanOrEqual(maxEntries);
          // The newest put that fits is always there.
          const last = puts.at(-1);
          if (last !== undefined && last.length <= Math.min(64, maxBytes)) {
            expect(recent.get(`h${(puts.length - 1) % 20}`)).not.toBeNull();
          }
          recent.clear();
        },
      ),
      { numRuns: 300 },
    );
  });
});
