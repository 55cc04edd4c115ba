import { describe, expect, test } from 'vitest';
import { inOrder } from './in-order';

function later<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('inOrder', () => {
  test('an answer that comes back first waits for the ones asked before it', async () => {
    const run = inOrder();
    const seen: string[] = [];
    const first = later<string>();
    const second = later<string>();
    const a = run(first.promise, (v) => seen.push(v));
    const b = run(second.promise, (v) => seen.push(v));
    second.resolve('present');
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual([]);
    first.resolve('missing');
    await Promise.all([a, b]);
    expect(seen).toEqual(['missing', 'present']);
  });

  test('a failed answer is not applied, rejects its caller, and holds back no later answer', async () => {
    const run = inOrder();
    const seen: number[] = [];
    const slow = later<number>();
    const failing = later<number>();
    const a = run(slow.promise, (v) => seen.push(v));
    const b = run(failing.promise, (v) => seen.push(v));
    const c = run(Promise.resolve(3), (v) => seen.push(v));
    failing.reject(new Error('offline'));
    await expect(b).rejects.toThrow('offline');
    expect(seen).toEqual([]); // 3 still waits for the first answer
    slow.resolve(1);
    await Promise.all([a, c]);
    expect(seen).toEqual([1, 3]);
  });

  test('answers in any order are applied in the order asked', async () => {
    const run = inOrder();
    const seen: number[] = [];
    const waits = Array.from({ length: 20 }, () => later<number>());
    const done = waits.map((w) => run(w.promise, (v) => seen.push(v)));
    const shuffled = waits.map((w, i) => ({ w, i, k: (i * 7919) % 20 })).sort((x, y) => x.k - y.k);
    for (const { w, i } of shuffled) w.resolve(i);
    await Promise.all(done);
    expect(seen).toEqual([...Array(20).keys()]);
  });
});
