import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../../test/helpers/dialects.js';
import type { MetadataStore } from './dialect.js';
import { SiteIdentityRepository } from './site-identity.repository.js';

async function addPicture(store: MetadataStore, id: string, title: string, descr: string) {
  await store.db
    .insertInto('pictures')
    .values({ id, title, descr, alive: 1, has_blob: 1, created_at: Date.now() })
    .execute();
}

async function search(store: MetadataStore, text: string): Promise<string[] | null> {
  const match = store.dialect.pictureMatch('p', text);
  if (match === null) return null;
  const rows = await store.db
    .selectFrom('pictures as p')
    .select('p.id')
    .where(match)
    .orderBy('p.id')
    .execute();
  return rows.map((r) => r.id);
}

describeEachDialect('metadata store', (ctx) => {
  it('returns integers as numbers: BIGINT columns, COUNT and SUM', async () => {
    const store = await ctx.open();
    const big = 2 ** 40 + 7;
    await store.db
      .insertInto('sessions')
      .values({ id_hash: 'h', username: 'ann', created_at: big, expires_at: big + 1 })
      .execute();
    const row = await store.db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow();
    expect(row.created_at).toBe(big);
    const agg = await store.db
      .selectFrom('sessions')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('expires_at').as('s')])
      .executeTakeFirstOrThrow();
    expect(agg).toEqual({ n: 1, s: big + 1 });
  });

  it('finds pictures by word prefixes in title or description, accents folded', async () => {
    const store = await ctx.open();
    await addPicture(store, 'a', 'Café au lait', 'morning in Paris');
    await addPicture(store, 'b', 'Beach', 'Sunset at the CAFE');
    await addPicture(store, 'c', 'Mountains', 'snow');
    expect(await search(store, 'cafe')).toEqual(['a', 'b']);
    expect(await search(store, 'café par')).toEqual(['a']);
    expect(await search(store, 'SUN')).toEqual(['b']);
    expect(await search(store, 'snow cafe')).toEqual([]);
    expect(await search(store, ' -- !')).toBeNull();
    await store.db
      .updateTable('pictures')
      .set({ title: 'Glacier' })
      .where('id', '=', 'c')
      .execute();
    expect(await search(store, 'glac')).toEqual(['c']);
  });

  it('reads a number out of a JSON body', async () => {
    const store = await ctx.open();
    const body = JSON.stringify({ kind: 'picture.create', size: 123456789012 });
    await store.db
      .insertInto('ops')
      .values({ origin: 'o', seq: 1, hlc: 'h', kind: 'picture.create', body })
      .execute();
    const row = await store.db
      .selectFrom('ops')
      .select(store.dialect.jsonNumber('body', 'size').as('size'))
      .executeTakeFirstOrThrow();
    expect(row.size).toBe(123456789012);
  });

  it('rolls a transaction back when it throws', async () => {
    const store = await ctx.open();
    await expect(
      store.transaction(async (trx) => {
        await trx.insertInto('meta').values({ key: 'k', value: 'v' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.db.selectFrom('meta').selectAll().execute()).toEqual([]);
  });

  it('rolls back to a savepoint inside a controlled transaction', async () => {
    const store = await ctx.open();
    const trx = await store.db.startTransaction().execute();
    await trx.insertInto('meta').values({ key: 'kept', value: '1' }).execute();
    const inner = await trx.savepoint('inner').execute();
    await inner.insertInto('meta').values({ key: 'undone', value: '1' }).execute();
    await inner.rollbackToSavepoint('inner').execute();
    await trx.commit().execute();
    const keys = await store.db.selectFrom('meta').select('key').execute();
    expect(keys).toEqual([{ key: 'kept' }]);
  });

  it('keeps one site identity across processes and restarts; a requested name replaces it', async () => {
    const stores = await ctx.openWriters(3);
    const identities = await Promise.all(
      stores.map((store) => new SiteIdentityRepository(store).load()),
    );
    const [first] = identities;
    expect(first?.id).toMatch(/^[0-9a-f]{16}$/);
    for (const identity of identities) expect(identity).toEqual(first);
    const store = stores[0];
    if (!store || !first) throw new Error('no store');
    const renamed = await new SiteIdentityRepository(store).load('kitchen');
    expect(renamed).toEqual({ ...first, name: 'kitchen' });
    expect(await new SiteIdentityRepository(store).load()).toEqual(renamed);
  });

  it('has the database clock in milliseconds', async () => {
    const store = await ctx.open();
    const before = Date.now();
    const { rows } = await sql<{ now: number }>`SELECT ${store.dialect.nowMs()} AS now`.execute(
      store.db,
    );
    expect(rows[0]?.now).toBeGreaterThanOrEqual(before - 1000);
    expect(rows[0]?.now).toBeLessThanOrEqual(Date.now() + 1000);
  });
});
