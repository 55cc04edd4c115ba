import { describe, expect, it } from 'vitest';
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
});
