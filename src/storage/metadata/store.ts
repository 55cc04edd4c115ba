import type { MetadataStore } from './dialect.js';
import type { PostgresOptions } from './postgres.js';
import { openSqliteStore } from './sqlite.js';

/**
 * Opens the metadata store a URL names, migrated: `postgres://…` or `postgresql://…` is a
 * PostgreSQL database (shared by every process of a site); `sqlite:FILE` or a plain path is
 * a SQLite file (one machine; other processes may write it too, e.g. `mosaic user add`).
 * The PostgreSQL adapter (and `pg`) is loaded only for a PostgreSQL URL.
 */
export async function openMetadataStore(
  url: string,
  options: PostgresOptions = {},
): Promise<MetadataStore> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(url, options);
  }
  const file = url.replace(/^sqlite:(\/\/)?/i, '');
  if (file === '') throw new Error(`No SQLite file in the database URL ${JSON.stringify(url)}`);
  return openSqliteStore(file);
}

export type { MetadataDialect, MetadataStore } from './dialect.js';
