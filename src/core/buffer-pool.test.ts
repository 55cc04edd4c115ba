import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

describe('BufferPool', () => {
  it('gives back the same memory, keeps at most `keep`, and refuses other sizes', () => {
    const pool = new BufferPool(1024, 2);
    const a = pool.take();
    const b = pool.take();
    const c = pool.take();
    expect(a.length).toBe(1024);
    pool.give(a);
    pool.give(b);
    pool.give(c); // over `keep`: left to the garbage collector
    pool.give(Buffer.alloc(10)); // not this pool's size
    expect(pool.idle).toBe(2);
    const again = pool.take();
    expect(again === a || again === b).toBe(true);
    expect(pool.idle).toBe(1);
  });

  it('lets every kept buffer go once unused for idleMs (an idle node holds none)', async () => {
    const pool = new BufferPool(1024, 4, 30);
    pool.give(pool.take());
    pool.give(pool.take());
    expect(pool.idle).toBe(1);
    await expect.poll(() => pool.idle, { timeout: 2000 }).toBe(0);
  });

  it('hands out views of pooled buffers for smaller items, each given back once', () => {
    const pool = new BufferPool(1024, 2);
    const view = pool.takeView(300);
    expect(view.length).toBe(300);
    pool.giveView(view);
    pool.giveView(view); // twice: the second does nothing
    expect(pool.idle).toBe(1);
    // The next view of any size up to 1024 reuses that memory.
    const next = pool.takeView(1000);
    expect(next.buffer).toBe(view.buffer);
    expect(pool.idle).toBe(0);
    // Longer than the pool's buffers: made new, and never kept.
    const long = pool.takeView(4096);
    expect(long.length).toBe(4096);
    pool.giveView(long);
    pool.giveView(Buffer.alloc(100)); // not one of the pool's views
    expect(pool.idle).toBe(0);
  });
});
