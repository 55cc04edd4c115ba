import { describe, expect, test } from 'vitest';
import { failureSummary, runBulk } from './bulk';

describe('runBulk', () => {
  test('runs every id, at most `concurrency` at once, reporting progress', async () => {
    let running = 0;
    let peak = 0;
    const progress: number[] = [];
    const result = await runBulk(
      ['a', 'b', 'c', 'd', 'e'],
      async (id) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (id === 'c') throw new Error('You may not do this.');
      },
      { concurrency: 2, onProgress: (n) => progress.push(n) },
    );
    expect(peak).toBe(2);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    expect(result.done.sort()).toEqual(['a', 'b', 'd', 'e']);
    expect(result.failed).toEqual([{ id: 'c', message: 'You may not do this.' }]);
    expect(failureSummary(result, 'deleted')).toBe(
      '1 of 5 could not be deleted: You may not do this.',
    );
  });

  test('nothing failed, nothing to say', async () => {
    const result = await runBulk([], () => Promise.resolve());
    expect(result).toEqual({ done: [], failed: [] });
    expect(failureSummary(result, 'deleted')).toBeNull();
  });

  test('the same reason is said once', () => {
    const failed = ['a', 'b'].map((id) => ({ id, message: 'Not found.' }));
    expect(failureSummary({ done: ['c'], failed }, 'changed')).toBe(
      '2 of 3 could not be changed: Not found.',
    );
  });
});
