/**
 * Which stored parts of a tus upload on S3 count (tus-s3-store.ts): a write's parts go up at
 * once, so a process killed meanwhile may leave a later part stored and an earlier one not.
 * Found reading @tus/s3-store during the scaled walk (its listing sums every part): not seen
 * in the walk, whose PATCHes were one part at most; the crash cases it did see are in
 * test/storage/tus-crash.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { unbrokenParts } from './tus-s3-store.js';

const part = (PartNumber: number, Size = 8) => ({ PartNumber, Size });

describe('unbrokenParts', () => {
  it('keeps the parts from the first up to the first number missing', () => {
    expect(unbrokenParts([part(1), part(2), part(3)])).toEqual([part(1), part(2), part(3)]);
    expect(unbrokenParts([part(1), part(3), part(4)])).toEqual([part(1)]);
    expect(unbrokenParts([part(2), part(3)])).toEqual([]);
    expect(unbrokenParts([])).toEqual([]);
  });
});
