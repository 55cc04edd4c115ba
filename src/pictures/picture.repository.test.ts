import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { SqlPictureRepository } from './picture.repository.js';
import { addPicture, id } from './testing.js';

describeEachDialect('picture repository', (ctx) => {
  it("lists every picture's byte flags in id order, a page at a time", async () => {
    const store = await ctx.open();
    // Inserted out of order, across three pages of 2.
    for (const n of [5, 1, 4, 2, 3]) {
      await addPicture(store, n, n * 1000, { alive: n !== 4, hasBlob: n % 2 === 1 });
    }
    const seen: { id: string; alive: boolean; hasBlob: boolean }[] = [];
    for await (const row of new SqlPictureRepository(store).byteFlags(2)) seen.push(row);
    expect(seen).toEqual([
      { id: id(1), alive: true, hasBlob: true },
      { id: id(2), alive: true, hasBlob: false },
      { id: id(3), alive: true, hasBlob: true },
      { id: id(4), alive: false, hasBlob: false },
      { id: id(5), alive: true, hasBlob: true },
    ]);
  });
});
