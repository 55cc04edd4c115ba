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
});
