import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { encodeHlc } from '../core/hlc.js';
import { ShareRepository, type ShareRecord } from './share.repository.js';

const at = (wall: number, node = 'n1') => encodeHlc({ wall, counter: 0, node });
const share = (id: string, owner = 'ann'): ShareRecord => ({
  id,
  target: 'album',
  targetId: 'a'.repeat(32),
  owner,
  createdAt: 1_000,
  expiresAt: null,
  passwordHash: null,
});

describeEachDialect('share repository', (ctx) => {
  it('finds a link until it is revoked, and a revocation that came first wins', async () => {
    const store = await ctx.open();
    const repo = new ShareRepository(store.db);
    const one = share('1'.repeat(32));
    await store.transaction((trx) => repo.put(trx, one, at(1)));
    expect(await repo.get(one.id)).toEqual(one);
    await store.transaction((trx) => repo.revoke(trx, one.id, at(2)));
    expect(await repo.get(one.id)).toBeNull();
    // Revoked before its put arrived (another node's order): never valid here.
    const two = { ...share('2'.repeat(32), 'bob'), expiresAt: 5_000, passwordHash: 'scrypt$x' };
    await store.transaction((trx) => repo.revoke(trx, two.id, at(4, 'n2')));
    await store.transaction((trx) => repo.put(trx, two, at(3)));
    expect(await repo.get(two.id)).toBeNull();
    const three = { ...share('3'.repeat(32), 'bob'), expiresAt: 5_000, passwordHash: 'scrypt$x' };
    await store.transaction((trx) => repo.put(trx, three, at(5)));
    await store.transaction((trx) => repo.put(trx, three, at(5)));
    // Its album is not (or no longer) here: no title.
    expect(await repo.list('bob')).toEqual([{ ...three, title: null }]);
    expect(await repo.list('ann')).toEqual([]);
    expect(await repo.list(null)).toEqual([{ ...three, title: null }]);
  });

  it('lists each link with the title of the picture or album it shows, while that is visible', async () => {
    const store = await ctx.open();
    const repo = new ShareRepository(store.db);
    const pic = 'c'.repeat(64);
    const gone = 'd'.repeat(64);
    const album = 'e'.repeat(32);
    await store.db
      .insertInto('pictures')
      .values([
        { id: pic, title: 'Beach', owner: 'ann', alive: 1, has_blob: 1 },
        { id: gone, title: 'In the trash', owner: 'ann', alive: 0, has_blob: 1 },
      ])
      .execute();
    await store.db
      .insertInto('albums')
      .values({ id: album, name: 'Summer', owner: 'ann', alive: 1 })
      .execute();
    const links: ShareRecord[] = [
      { ...share('4'.repeat(32)), target: 'picture', targetId: pic, createdAt: 4 },
      { ...share('5'.repeat(32)), target: 'picture', targetId: gone, createdAt: 3 },
      { ...share('6'.repeat(32)), targetId: album, createdAt: 2 },
      // A picture link naming the album's id: the target decides what is looked up.
      { ...share('7'.repeat(32)), target: 'picture', targetId: album, createdAt: 1 },
    ];
    for (const [i, link] of links.entries()) {
      await store.transaction((trx) => repo.put(trx, link, at(10 + i)));
    }
    expect((await repo.list('ann')).map((l) => [l.id, l.title])).toEqual([
      ['4'.repeat(32), 'Beach'],
      ['5'.repeat(32), null],
      ['6'.repeat(32), 'Summer'],
      ['7'.repeat(32), null],
    ]);
    // Gone from the album's side too: deleted there, the name goes.
    await store.db.updateTable('albums').set({ alive: 0 }).where('id', '=', album).execute();
    expect((await repo.list(null)).find((l) => l.targetId === album)?.title).toBeNull();
  });
});
