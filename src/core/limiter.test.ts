import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Limiter, eachAsItComes, eachAtOnce } from './limiter.js';

function tick(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Limiter', () => {
  it('never runs more than its limit at once, and runs every task', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 20 }),
        async (limit, delays) => {
          const limiter = new Limiter(limit);
          let active = 0;
          let peak = 0;
          const results = await Promise.all(
            delays.map((ms, i) =>
              limiter.run(async () => {
                active++;
                peak = Math.max(peak, active);
                await tick(ms);
                active--;
                return i;
              }),
            ),
          );
          expect(results).toEqual(delays.map((_, i) => i));
          expect(peak).toBeLessThanOrEqual(limit);
          expect(peak).toBe(Math.min(limit, delays.length));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('starts waiting tasks in arrival order', async () => {
    const limiter = new Limiter(1);
    const started: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        limiter.run(async () => {
          started.push(i);
          await tick(1);
        }),
      ),
    );
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('frees the slot when a task fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});

async function* arriving<T>(items: readonly T[], failAfter?: number): AsyncGenerator<T> {
  for (const [i, item] of items.entries()) {
    if (i === failAfter) throw new Error('the peer went away');
    await tick(0);
    yield item;
  }
}

type Each = <T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
) => Promise<void>;

const EACH: [string, Each][] = [
  ['eachAtOnce', (items, limit, work) => eachAtOnce(items, limit, work)],
  ['eachAsItComes', (items, limit, work) => eachAsItComes(arriving(items), limit, work)],
];

describe.each(EACH)('%s', (_, each) => {
  it('calls every item once, never more than `limit` at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 20 }),
        async (limit, delays) => {
          let active = 0;
          let peak = 0;
          const done: number[] = [];
          await each(
            delays.map((ms, i) => ({ ms, i })),
            limit,
            async ({ ms, i }) => {
              active++;
              peak = Math.max(peak, active);
              await tick(ms);
              active--;
              done.push(i);
            },
          );
          expect(done.sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
          expect(peak).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('after a failure starts nothing more, waits for the calls under way, then throws it', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = each([0, 1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
      started.push(i);
      if (i === 1) {
        await tick(1);
        throw new Error('the folder is gone');
      }
      await tick(20);
      finished.push(i);
    });
    await expect(run).rejects.toThrow('the folder is gone');
    // 0 and 2 were under way when 1 failed: both ended before the throw; nothing after them began.
    expect(started).toEqual([0, 1, 2]);
    expect(finished.sort()).toEqual([0, 2]);
  });
});

describe('eachAsItComes', () => {
  it('a call that throws at once stops the items there', async () => {
    const started: number[] = [];
    const run = eachAsItComes(arriving([0, 1, 2, 3]), 4, (i) => {
      if (i === 1) throw new Error('failed verification');
      started.push(i);
      return tick(5);
    });
    await expect(run).rejects.toThrow('failed verification');
    expect(started).toEqual([0]);
  });

  it('a failure of the items themselves is thrown once the calls under way end', async () => {
    const finished: number[] = [];
    const run = eachAsItComes(arriving([0, 1, 2, 3], 2), 4, async (i) => {
      await tick(20);
      finished.push(i);
    });
    await expect(run).rejects.toThrow('the peer went away');
    expect(finished.sort()).toEqual([0, 1]);
  });
});
