import { describe, expect, it } from 'vitest';
import { DeviceLacks } from './device-lacks.js';

const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);

describe('DeviceLacks', () => {
  it('names a content only once every laptop of the name said it lacks it', () => {
    const lacks = new DeviceLacks();
    const laptops = ['aaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaa2'];
    lacks.add('docs', 'aaaaaaaaaaaaaaa1', [H1, H2]);
    expect(lacks.lackedByAll('docs', laptops, [H1, H2])).toEqual([]);
    lacks.add('docs', 'aaaaaaaaaaaaaaa2', [H2]);
    expect(lacks.lackedByAll('docs', laptops, [H1, H2])).toEqual([H2]);
  });

  it('keeps folders apart, and names nothing for no laptop', () => {
    const lacks = new DeviceLacks();
    lacks.add('docs', 'aaaaaaaaaaaaaaa1', [H1]);
    expect(lacks.lackedByAll('photos', ['aaaaaaaaaaaaaaa1'], [H1])).toEqual([]);
    expect(lacks.lackedByAll('docs', [], [H1])).toEqual([]);
  });

  it('forgets the oldest answers past its bound, not the latest', () => {
    const lacks = new DeviceLacks();
    const hash = (i: number) => i.toString(16).padStart(64, '0');
    lacks.add('docs', 'aaaaaaaaaaaaaaa1', [H1]);
    for (let i = 0; i < 10_000; i++) lacks.add('docs', 'aaaaaaaaaaaaaaa1', [hash(i)]);
    expect(lacks.lackedByAll('docs', ['aaaaaaaaaaaaaaa1'], [H1, hash(9_999)])).toEqual([
      hash(9_999),
    ]);
  });
});
