import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dominates, mergeVectors, missingFrom, totalMissing } from './version-vector.js';

const vv = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.nat({ max: 50 }));

describe('version vectors', () => {
  it('merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(vv, vv, vv, (a, b, c) => {
        expect(mergeVectors(a, b)).toEqual(mergeVectors(b, a));
        expect(mergeVectors(mergeVectors(a, b), c)).toEqual(mergeVectors(a, mergeVectors(b, c)));
        expect(mergeVectors(a, a)).toEqual({ ...a });
      }),
    );
  });

  it('a merge dominates both inputs and lacks nothing from either', () => {
    fc.assert(
      fc.property(vv, vv, (a, b) => {
        const m = mergeVectors(a, b);
        expect(dominates(m, a) && dominates(m, b)).toBe(true);
        expect(totalMissing(a, m) + totalMissing(b, m)).toBe(0);
      }),
    );
  });

  it('counts exactly the operations one side lacks', () => {
    expect(missingFrom({ a: 5, b: 2 }, { a: 3, c: 9 })).toEqual({ a: 2, b: 2 });
    expect(totalMissing({ a: 5, b: 2 }, { a: 3, c: 9 })).toBe(4);
  });
});
