/**
 * Runs a suite against every metadata-store engine: `describeEachDialect(name, suite)` makes
 * one `describe` per dialect, SQLite (a temp file) and PostgreSQL (a real server for the file,
 * started once; see ./postgres.ts). `ctx.newStoreUrl()` gives each test a fresh, empty
 * database; `ctx.open(url)` opens (and migrates) a store on it, several times for several
 * "processes", all closed after the test. MOSAIC_TEST_DIALECTS=sqlite (or postgres) narrows
 * the list; without it both run, and missing PostgreSQL binaries fail the suite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import type { MetadataStore } from '../../src/storage/metadata/dialect.js';
import { openMetadataStore } from '../../src/storage/metadata/store.js';
import { startPostgres, type PostgresServer } from './postgres.js';

export type DialectName = 'sqlite' | 'postgres';

export const DIALECTS: readonly DialectName[] = (() => {
  const wanted = process.env.MOSAIC_TEST_DIALECTS;
  if (!wanted) return ['sqlite', 'postgres'];
  const names = wanted.split(',').map((s) => s.trim());
  for (const name of names) {
    if (name !== 'sqlite' && name !== 'postgres') {
      throw new Error(`MOSAIC_TEST_DIALECTS: unknown dialect ${JSON.stringify(name)}`);
    }
  }
  return names as DialectName[];
})();

export interface DialectContext {
  readonly dialect: DialectName;
  /** A fresh, empty database: a SQLite file path or a PostgreSQL URL. */
  newStoreUrl(): Promise<string>;
  /** Opens a store on `url` (a fresh database when omitted); closed after the test. */
  open(url?: string): Promise<MetadataStore>;
  /**
   * `n` stores on one fresh database, as `n` processes of a site would have them. PostgreSQL:
   * `n` pools, truly concurrent. SQLite: one store used `n` times, as one process uses its file
   * (its transactions wait in turn; writers in separate processes: test/storage/).
   */
  openWriters(n: number): Promise<MetadataStore[]>;
}

export function describeEachDialect(name: string, suite: (ctx: DialectContext) => void): void {
  for (const dialect of DIALECTS) {
    describe(`${name} [${dialect}]`, () => {
      let server: PostgresServer | undefined;
      let dir = '';
      let files = 0;
      const opened: MetadataStore[] = [];

      beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'mosaic-store-'));
        if (dialect === 'postgres') server = await startPostgres();
      }, 60_000);
      afterEach(async () => {
        await Promise.all(opened.splice(0).map((store) => store.close()));
      });
      afterAll(async () => {
        await server?.stop();
        await rm(dir, { recursive: true, force: true });
      });

      const ctx: DialectContext = {
        dialect,
        async newStoreUrl() {
          if (dialect === 'sqlite') return join(dir, `store-${++files}.db`);
          if (!server) throw new Error('PostgreSQL server not started');
          return server.createDatabase();
        },
        async open(url) {
          const store = await openMetadataStore(url ?? (await ctx.newStoreUrl()));
          opened.push(store);
          return store;
        },
        async openWriters(n) {
          const url = await ctx.newStoreUrl();
          if (dialect === 'sqlite') {
            const store = await ctx.open(url);
            return Array.from({ length: n }, () => store);
          }
          return Promise.all(Array.from({ length: n }, () => ctx.open(url)));
        },
      };
      suite(ctx);
    });
  }
}
