import { sql } from 'kysely';
import type { Probe } from '../health.js';
import type { MetadataStore } from './dialect.js';

/** The metadata store's health probe: one `SELECT 1` through the store (its pool, its file). */
export function databaseProbe(store: MetadataStore): Probe {
  return async () => {
    await sql`SELECT 1`.execute(store.db);
  };
}
