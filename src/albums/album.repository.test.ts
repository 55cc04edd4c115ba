import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { encodeHlc } from '../core/hlc.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { applyAlbum, type AlbumBody } from './album-apply.js';
import { AlbumRepository } from './album.repository.js';

const A = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const pic = (n: number) => n.toString(16).padStart(64, '0');
const at = (wall: number, node = 'n1') => encodeHlc({ wall, counter: 0, node });

async function addPicture(store: MetadataStore, n: number, alive = 1): Promise<void> {
  await store.db
    .insertInto('pictures')
    .values({
      id: pic(n),
      content_type: 'image/jpeg',
      size: 10,
      width: 4,
      height: 3,
      owner: 'ann',
      origin_name: 'n1',
      created_at: 1000 + n,
      info_hlc: at(n),
      title: `P${n}`,
      title_hlc: at(n),
      category: '',
      category_hlc: at(n),
      descr: '',
      desc_hlc: at(n),
      live_hlc: at(n),
      deleted_hlc: null,
      updated_at: n,
      alive,
      has_blob: 1,
    })
    .execute();
}

async function apply(store: MetadataStore, repo: AlbumRepository, body: AlbumBody, hlc: string) {
  await store.transaction((trx) => applyAlbum(trx, repo, body, hlc));
}

describeEachDialect('album repository', (ctx) => {
  it('lists an album with its visible pictures, newest first, and pages them', async () => {
    const store = await ctx.open();
    const repo = new AlbumRepository(store.db, store.dialect);
    for (const n of [1, 2, 3, 4]) await addPicture(store, n, n === 4 ? 0 : 1);
    await apply(
      store,
      repo,
      { kind: 'album.create', id: A, owner: 'ann', createdAt: 5, name: 'Trip', desc: 'd' },
      at(10),
    );
    await apply(
      store,
      repo,
      { kind: 'album.add', id: A, pictures: [pic(1), pic(2), pic(3), pic(4)] },
      at(11),
    );
    const [summary] = await repo.list();
    expect(summary).toMatchObject({ id: A, name: 'Trip', desc: 'd', owner: 'ann', count: 3 });
    expect(summary?.coverId).toBe(pic(3));
    const first = await repo.pictures(A, 2);
    expect(first.items.map((p) => p.id)).toEqual([pic(3), pic(2)]);
    const second = await repo.pictures(A, 2, first.next);
    expect(second.items.map((p) => p.id)).toEqual([pic(1)]);
    expect(second.next).toBe(null);
    await apply(store, repo, { kind: 'album.update', id: A, cover: pic(1) }, at(12));
    expect((await repo.summary(A))?.coverId).toBe(pic(1));
  });

  it("orders an album by the date taken, else the upload time, with each picture's facts", async () => {
    const store = await ctx.open();
    const repo = new AlbumRepository(store.db, store.dialect);
    for (const n of [1, 2, 3]) await addPicture(store, n);
    // Picture 3, uploaded last, was taken before the others were uploaded (keys 1001, 1002).
    const facts = { takenAt: '1970-01-01T00:00:00.500', camera: null, exposure: null, gps: null };
    await store.db
      .insertInto('picture_facts')
      .values({ id: pic(3), taken_key: 500, facts: JSON.stringify(facts), reader: 1 })
      .execute();
    await store.db
      .updateTable('pictures')
      .set({ taken_key: 500 })
      .where('id', '=', pic(3))
      .execute();
    await apply(
      store,
      repo,
      { kind: 'album.add', id: A, pictures: [pic(1), pic(2), pic(3)] },
      at(9),
    );
    const first = await repo.pictures(A, 2);
    expect(first.items.map((p) => p.id)).toEqual([pic(2), pic(1)]);
    expect(first.items[0]?.takenAt).toBeNull();
    expect(first.next).toEqual({ key: 1001, id: pic(1) });
    const second = await repo.pictures(A, 2, first.next);
    expect(second.items.map((p) => [p.id, p.takenAt])).toEqual([[pic(3), facts.takenAt]]);
    expect(second.next).toBeNull();
  });

  it('converges a concurrent add and remove to the later one, in either order', async () => {
    const store = await ctx.open();
    const repo = new AlbumRepository(store.db, store.dialect);
    await addPicture(store, 1);
    const add: AlbumBody = { kind: 'album.add', id: A, pictures: [pic(1)] };
    const remove: AlbumBody = { kind: 'album.remove', id: A, pictures: [pic(1)] };
    // Removed later than added, but the remove arrives first: still removed.
    await apply(store, repo, remove, at(20, 'n2'));
    await apply(store, repo, add, at(20, 'n1'));
    expect(await repo.contains(A, pic(1))).toBe(false);
    // A duplicate delivery changes nothing; a later add puts it back.
    await apply(store, repo, add, at(20, 'n1'));
    expect(await repo.contains(A, pic(1))).toBe(false);
    await apply(store, repo, add, at(21, 'n1'));
    expect(await repo.contains(A, pic(1))).toBe(true);
  });

  it('names the albums that hold any of some pictures, once each, across chunks', async () => {
    const store = await ctx.open();
    const repo = new AlbumRepository(store.db, store.dialect);
    const B = 'b'.repeat(32);
    const C = 'c'.repeat(32);
    await apply(store, repo, { kind: 'album.add', id: A, pictures: [pic(1), pic(2)] }, at(1));
    await apply(store, repo, { kind: 'album.add', id: B, pictures: [pic(2), pic(900)] }, at(1));
    await apply(store, repo, { kind: 'album.add', id: C, pictures: [pic(3)] }, at(1));
    await apply(store, repo, { kind: 'album.remove', id: C, pictures: [pic(3)] }, at(2));
    expect((await repo.holding([pic(1), pic(2)])).sort()).toEqual([A, B]);
    // Taken out: no longer held. Not in any album, or no ids: none.
    expect(await repo.holding([pic(3)])).toEqual([]);
    expect(await repo.holding([pic(4)])).toEqual([]);
    expect(await repo.holding([])).toEqual([]);
    // More ids than one query takes: the picture past the first chunk is found.
    const many = Array.from({ length: 1200 }, (_, i) => pic(i + 10));
    expect(await repo.holding(many)).toEqual([B]);
  });

  it('hides a deleted album and keeps the first owner', async () => {
    const store = await ctx.open();
    const repo = new AlbumRepository(store.db, store.dialect);
    await apply(
      store,
      repo,
      { kind: 'album.create', id: A, owner: 'bob', createdAt: 9, name: 'B', desc: '' },
      at(3, 'n2'),
    );
    await apply(
      store,
      repo,
      { kind: 'album.create', id: A, owner: 'ann', createdAt: 5, name: 'A', desc: '' },
      at(2),
    );
    expect((await repo.summary(A))?.owner).toBe('ann');
    expect((await repo.summary(A))?.name).toBe('B');
    await apply(store, repo, { kind: 'album.delete', id: A }, at(4));
    expect(await repo.list()).toEqual([]);
  });

  it('keeps both of two first operations applied at once by two writers', async () => {
    const [one, two] = await ctx.openWriters(2);
    if (!one || !two) throw new Error('no stores');
    const repos = [one, two].map((s) => new AlbumRepository(s.db, s.dialect));
    const ids = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(32, 'c'));
    await Promise.all(
      ids.flatMap((id) => [
        one.transaction((trx) =>
          applyAlbum(
            trx,
            repos[0] as AlbumRepository,
            { kind: 'album.update', id, name: 'N' },
            at(5),
          ),
        ),
        two.transaction((trx) =>
          applyAlbum(
            trx,
            repos[1] as AlbumRepository,
            { kind: 'album.create', id, owner: 'ann', createdAt: 1, name: 'first', desc: 'D' },
            at(2, 'n2'),
          ),
        ),
      ]),
    );
    const summaries = await (repos[0] as AlbumRepository).list();
    expect(summaries.map((a) => [a.name, a.desc, a.owner]).sort()).toEqual(
      ids.map(() => ['N', 'D', 'ann']),
    );
  });
});
