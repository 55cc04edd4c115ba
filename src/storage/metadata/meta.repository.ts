import type { Executor, MetadataStore } from './dialect.js';

/** The `meta` table: small named values of a site or a device (identity, cursors). */
export class MetaRepository {
  constructor(private readonly store: MetadataStore) {}

  async get(key: string, trx: Executor = this.store.db): Promise<string | null> {
    const row = await trx
      .selectFrom('meta')
      .select('value')
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value ?? null;
  }

  async set(key: string, value: string, trx: Executor = this.store.db): Promise<void> {
    await trx
      .insertInto('meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}
