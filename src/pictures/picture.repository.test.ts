import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { SqlAccountRepository } from '../accounts/account.repository.js';
import { SqlCredentialRepository } from '../accounts/credential.repository.js';
import { applyAlbum } from '../albums/album-apply.js';
import { AlbumRepository } from '../albums/album.repository.js';
import { encodeHlc } from '../core/hlc.js';
import { NO_FACTS } from './core/photo-facts.js';
import { PictureFactsRepository } from './picture-facts.repository.js';
import { SqlPictureRepository, toPicture } from './picture.repository.js';
import { applyPictureOp, emptyPicture, type PictureOp } from './picture.state.js';
import { PHONE_FACTS, addPicture, id } from './testing.js';

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

  it('reads a session and a picture in one statement, as the two reads would; none for a disabled account', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await accounts.putUser(store.db, { username: 'ann', passwordHash: 'x', role: 'user' }, '1');
    await credentials.createSession('live', 'ann', 1000, 5000);
    await credentials.createSession('old', 'ann', 1000, 2000);
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
    expect(await credentials.findSession('live', 3000)).toEqual(ann);
    // Expired, unknown: no principal, whatever the picture.
    expect(await repo.getForSession('old', 3000, id(1))).toBe(null);
    expect(await repo.getForSession('none', 3000, id(1))).toBe(null);
    // A disabled account's session (one opened as the disable committed is still refused).
    await accounts.setAccess(store.db, 'ann', { disabled: true }, '2');
    await credentials.createSession('late', 'ann', 1000, 5000);
    expect(await repo.getForSession('late', 3000, id(1))).toBe(null);
  });
});

describeEachDialect('picture repository: a page in one statement', (ctx) => {
  const at = (wall: number) => encodeHlc({ wall, counter: 0, node: 'n1' });
  const create = (n: number, createdAt: number): PictureOp => ({
    kind: 'picture.create',
    id: id(n),
    contentType: 'image/png',
    size: 1000 + n,
    width: 40 + n,
    height: 30 + n,
    owner: n % 2 === 0 ? 'ann' : 'bob',
    originName: 'site-a',
    createdAt,
    title: `title ${n}`,
    category: n % 2 === 0 ? 'sea' : '',
    desc: n === 1 ? 'a description' : '',
  });
  const facts = PHONE_FACTS;

  it('lists pictures with their facts exactly as get() and the facts show each one', async () => {
    const store = await ctx.open();
    const repo = new SqlPictureRepository(store);
    const factsRepo = new PictureFactsRepository(store);
    // Each picture's history: created, then edited, deleted, restored, in HLC order.
    const histories: { n: number; ops: [PictureOp, number][]; hasBlob?: boolean }[] = [
      { n: 1, ops: [[create(1, 1_000), 10]] },
      {
        n: 2,
        ops: [
          [create(2, 2_000), 20],
          [{ kind: 'picture.update', id: id(2), title: 'renamed', category: 'hills' }, 25],
        ],
      },
      {
        n: 3,
        ops: [
          [create(3, 3_000), 30],
          [{ kind: 'picture.delete', id: id(3) }, 35],
        ],
      },
      {
        n: 4,
        ops: [
          [create(4, 4_000), 40],
          [{ kind: 'picture.delete', id: id(4) }, 45],
          [{ kind: 'picture.restore', id: id(4) }, 47],
        ],
      },
      // An edit that reached this node before its create (replication in any order).
      {
        n: 5,
        ops: [
          [{ kind: 'picture.update', id: id(5), desc: 'early' }, 55],
          [create(5, 5_000), 50],
        ],
      },
      { n: 6, ops: [[create(6, 6_000), 60]], hasBlob: false },
    ];
    for (const { n, ops, hasBlob } of histories) {
      const state = ops.reduce(
        (s, [op, wall]) => applyPictureOp(s, op, at(1_700_000_000_000 + wall)),
        emptyPicture(id(n)),
      );
      await repo.save(store.db, state, hasBlob ?? true);
    }
    await factsRepo.save(id(1), facts, 1);
    await factsRepo.save(id(4), NO_FACTS, 1);

    const expected = [];
    for (const n of [5, 4, 2, 1]) {
      const stored = await repo.get(id(n));
      const picture = stored && toPicture(stored.state);
      if (!picture) throw new Error(`picture ${n} not stored`);
      expected.push({ ...picture, ...((await factsRepo.get(id(n))) ?? NO_FACTS) });
    }
    expect(expected[0]).toMatchObject({ desc: 'early' });
    expect(expected[2]).toMatchObject({ title: 'renamed', category: 'hills', desc: '' });
    expect(expected[3]).toMatchObject({ takenAt: facts.takenAt, camera: facts.camera });
    expect(await repo.list({ limit: 10 })).toEqual(expected);
    const byTaken = await factsRepo.timeline({ limit: 10 });
    // Taken in 2019, after every upload time here (1970): first.
    expect(byTaken.map((e) => e.picture)).toEqual([expected[3], ...expected.slice(0, 3)]);
    // Filters and pages keep the same view.
    expect(await repo.list({ limit: 10, category: 'hills' })).toEqual([expected[2]]);
    expect(await repo.list({ limit: 2, cursor: { createdAt: 4_000, id: id(4) } })).toEqual([
      expected[2],
      expected[3],
    ]);
    expect((await factsRepo.timeline({ limit: 10, q: 'renamed' })).map((e) => e.picture)).toEqual([
      expected[2],
    ]);

    // An album's page: the timeline's view by date taken, facts included.
    const albums = new AlbumRepository(store.db, store.dialect);
    const album = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const bodies = [
      { kind: 'album.create', id: album, owner: 'ann', createdAt: 1, name: 'All', desc: '' },
      { kind: 'album.add', id: album, pictures: [1, 2, 3, 4, 5, 6].map(id) },
    ] as const;
    for (const [i, body] of bodies.entries()) {
      await store.transaction((trx) => applyAlbum(trx, albums, body, at(1_800_000_000_000 + i)));
    }
    const timeline = byTaken.map((e) => e.picture);
    const first = await albums.pictures(album, 3);
    expect(first.items).toEqual(timeline.slice(0, 3));
    expect((await albums.pictures(album, 3, first.next)).items).toEqual(timeline.slice(3));
    expect((await albums.pictures(album, 3, first.next)).next).toBeNull();
  });

  it('counts the categories of visible pictures, fullest first, then by name', async () => {
    const store = await ctx.open();
    const repo = new SqlPictureRepository(store);
    expect(await repo.categories()).toEqual([]);
    await addPicture(store, 1, 1000, { category: 'sea' });
    await addPicture(store, 2, 2000, { category: 'hills' });
    await addPicture(store, 3, 3000, { category: 'sea' });
    await addPicture(store, 4, 4000, { category: 'Zoo' });
    await addPicture(store, 5, 5000); // no category
    await addPicture(store, 6, 6000, { category: 'trashed', alive: false });
    await addPicture(store, 7, 7000, { category: 'coming', hasBlob: false });
    expect(await repo.categories()).toEqual([
      { name: 'sea', count: 2 },
      { name: 'Zoo', count: 1 },
      { name: 'hills', count: 1 },
    ]);
  });

  it('lists nothing for a search without words, everything for no search', async () => {
    const store = await ctx.open();
    const repo = new SqlPictureRepository(store);
    await addPicture(store, 1, 1000, { title: 'Harbour' });
    await addPicture(store, 2, 2000, { title: '100% sure' });
    expect(await repo.list({ limit: 10, q: `%_\\'` })).toEqual([]);
    expect(await repo.list({ limit: 10, q: '*:() &|' })).toEqual([]);
    expect((await repo.list({ limit: 10, q: '100%' })).map((p) => p.id)).toEqual([id(2)]);
    expect(await repo.list({ limit: 10, q: ' ' })).toHaveLength(2);
  });
});

describeEachDialect('picture repository: what a transaction saved', (ctx) => {
  it('gives the state save wrote in a transaction, without reading it, and nothing outside', async () => {
    const store = await ctx.open();
    const repo = new SqlPictureRepository(store);
    const hlc = encodeHlc({ wall: 1_700_000_000_000, counter: 0, node: 'n1' });
    const state = applyPictureOp(
      emptyPicture(id(1)),
      {
        kind: 'picture.create',
        id: id(1),
        contentType: 'image/jpeg',
        size: 1,
        width: 1,
        height: 1,
        owner: 'ann',
        originName: 'n1',
        createdAt: 1,
        title: 't',
        category: '',
        desc: '',
      },
      hlc,
    );
    const seen = await store.transaction(async (trx) => {
      expect(repo.savedIn(trx, id(1))).toBe(null);
      await repo.save(trx, state, false);
      const saved = repo.savedIn(trx, id(1));
      await repo.setHasBlob(id(1), true, trx);
      return { saved, afterFlag: repo.savedIn(trx, id(1)), row: await repo.get(id(1), trx) };
    });
    expect(seen.saved).toEqual({ state, hasBlob: false });
    expect(seen.afterFlag).toEqual({ state, hasBlob: true });
    expect(seen.afterFlag).toEqual(seen.row);
    // Outside a transaction nothing is remembered (another writer may come next).
    await repo.save(store.db, state, true);
    expect(repo.savedIn(store.db, id(1))).toBe(null);
  });
});
