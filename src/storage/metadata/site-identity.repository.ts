import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { NodeIdentity } from '../../node/identity.js';
import type { MetadataStore } from './dialect.js';
import type { Schema } from './schema.js';

/**
 * The site's identity (node id, name, cookie secret) in the `meta` table, on either engine. A
 * site of several processes has one identity: whichever process starts first creates each
 * value, and the others, even starting at the same moment, read that one (insert-if-absent,
 * then read; on PostgreSQL the second insert waits for the first to commit, then does
 * nothing). A requested name replaces the stored one.
 */
export class SiteIdentityRepository {
  constructor(private readonly store: MetadataStore) {}

  async load(requestedName?: string): Promise<NodeIdentity> {
    return this.store.transaction(async (trx) => {
      const id = await getOrCreate(trx, 'node_id', () => randomBytes(8).toString('hex'));
      const cookieSecret = await getOrCreate(trx, 'cookie_secret', () =>
        randomBytes(32).toString('base64url'),
      );
      if (requestedName !== undefined) await set(trx, 'node_name', requestedName);
      const name = await getOrCreate(trx, 'node_name', () => `node-${id.slice(0, 6)}`);
      return { id, name, cookieSecret };
    });
  }
}

async function getOrCreate(
  trx: Transaction<Schema>,
  key: string,
  make: () => string,
): Promise<string> {
  await trx
    .insertInto('meta')
    .values({ key, value: make() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await trx
    .selectFrom('meta')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  return row.value;
}

async function set(trx: Transaction<Schema>, key: string, value: string): Promise<void> {
  await trx
    .insertInto('meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}
