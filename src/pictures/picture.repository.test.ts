import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { SqlAccountRepository } from '../accounts/account.repository.js';
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

  it('reads a session and a picture in one statement, as the two reads would', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    await accounts.putUser(store.db, { username: 'ann', passwordHash: 'x', role: 'user' }, '1');
    await accounts.createSession('live', 'ann', 1000, 5000);
    await accounts.createSession('old', 'ann', 1000, 2000);
    await addPicture(store, 1, 1000);
    await addPicture(store, 2, 1000, { alive: false });
    const repo = new SqlPictureRepository(store);
    const ann = { username: 'ann', role: 'user' };
    for (const n of [1, 2]) {
      expect(await repo.getForSession('live', 3000, id(n))).toEqual({
        principal: ann,
        picture: await repo.get(id(n)),
      });
    }
    expect(await repo.getForSession('live', 3000, id(3))).toEqual({
      principal: ann,
      picture: null,
    });
    expect(await accounts.findSession('live', 3000)).toEqual(ann);
    // Expired, unknown: no principal, whatever the picture.
    expect(await repo.getForSession('old', 3000, id(1))).toBe(null);
    expect(await repo.getForSession('none', 3000, id(1))).toBe(null);
  });
});
