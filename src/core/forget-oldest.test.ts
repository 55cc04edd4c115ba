import { describe, expect, test } from 'vitest';
import { forgetOldest } from './forget-oldest.js';

describe('forgetOldest', () => {
  test('drops the first inserted entries of a map until it is small enough', () => {
    const memory = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    memory.delete('a');
    memory.set('a', 1); // refreshed: now the newest
    forgetOldest(memory, 2);
    expect([...memory.keys()]).toEqual(['c', 'a']);
  });

  test('bounds a set alike, and leaves one within bounds as it is', () => {
    const memory = new Set(['x', 'y', 'z']);
    forgetOldest(memory, 3);
    expect([...memory]).toEqual(['x', 'y', 'z']);
    forgetOldest(memory, 0);
    expect(memory.size).toBe(0);
  });
});
