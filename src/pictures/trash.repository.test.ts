import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { encodeHlc } from '../core/hlc.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { TrashRepository } from './trash.repository.js';

const at = (wall: number, node = 'n1') => encodeHlc({ wall, counter: 0, node });
const pic = (n: number) => n.toString(16).padStart(64, '0');

/** A picture row created at wall 1 and, when `deletedAt` is given, deleted then. */
async function addPicture(store: MetadataStore, n: number, deletedAt: number | null) {
  await store.db
    .insertInto('pictures')
    .values({
      id: pic(n),
      content_type: 'image/png',
      size: 100 + n,
      width: 4,
      height: 3,
      owner: 'ann',
      origin_name: 'n1',
      created_at: 1,
      info_hlc: at(1),
      title: `P${n}`,
      title_hlc: at(1),
      category: 'c',
      category_hlc: at(1),
      descr: '',
      desc_hlc: at(1),
      live_hlc: at(1),
      deleted_hlc: deletedAt === null ? null : at(deletedAt),
      updated_at: 1,
      alive: deletedAt === null ? 1 : 0,
      has_blob: deletedAt === null ? 1 : 0,
    })
    .execute();
}

describeEachDialect('trash repository', (ctx) => {
  it('lists deleted pictures within the retention, newest deletion first, until purged', async () => {
    const store = await ctx.open();
    const repo = new TrashRepository(store.db);
    await addPicture(store, 1, null);
    await addPicture(store, 2, 5_000);
    await addPicture(store, 3, 9_000);
    await addPicture(store, 4, 500); // deleted before the retention window
    expect((await repo.list(1_000)).map((t) => [t.id, t.deletedAt])).toEqual([
      [pic(3), 9_000],
      [pic(2), 5_000],
    ]);
    expect(await repo.get(pic(1), 1_000)).toBeNull();
    expect(await repo.get(pic(2), 1_000)).toMatchObject({ title: 'P2', size: 102 });
    // A purge ordered before the delete does not empty it; one after does.
    await store.transaction((trx) => repo.purge(trx, pic(2), at(4_000)));
    expect(await repo.get(pic(2), 1_000)).not.toBeNull();
    await store.transaction((trx) => repo.purge(trx, pic(2), at(6_000)));
    await store.transaction((trx) => repo.purge(trx, pic(2), at(4_500)));
    expect((await repo.list(1_000)).map((t) => t.id)).toEqual([pic(3)]);
  });
});
