/**
 * A gallery page read with its session in one statement (PostgreSQL): the same page as without
 * the session, the session's account, and nothing for a session that is not live — for which
 * PostgreSQL does not build the page at all. (The page's bytes against the object path:
 * http/routes/picture-page.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.js';
import { SqlAccountRepository } from '../accounts/account.repository.js';
import { SqlCredentialRepository } from '../accounts/credential.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { openMetadataStore } from '../storage/metadata/store.js';
import {
  GalleryJsonRepository,
  pageStatement,
  type GalleryJsonQuery,
} from './gallery-json.repository.js';
import { addPicture, id } from './testing.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const NOW = T0 + 60_000;

describe('a gallery page with its session, in one statement', () => {
  let server: PostgresServer | undefined;
  let store: MetadataStore;
  let pages: GalleryJsonRepository;

  beforeAll(async () => {
    server = await startPostgres();
    store = await openMetadataStore(await server.createDatabase());
    pages = new GalleryJsonRepository(store);
    for (let n = 1; n <= 12; n++) {
      await addPicture(store, n, T0 - n * 1000, { category: n % 2 === 0 ? 'even' : 'odd' });
    }
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await store.db.transaction().execute(async (trx) => {
      await accounts.putUser(trx, { username: 'ana', passwordHash: 'x', role: 'user' }, 'h1');
      await accounts.putUser(trx, { username: 'root', passwordHash: 'x', role: 'admin' }, 'h2');
    });
    await credentials.createSession('live-ana', 'ana', T0, NOW + 1);
    await credentials.createSession('live-root', 'root', T0, NOW + 1);
    await credentials.createSession('expired', 'ana', T0, NOW);
  }, 60_000);
  afterAll(async () => {
    await store.close();
    await server?.stop();
  });

  const queries: GalleryJsonQuery[] = [
    { sort: 'added', limit: 5 },
    { sort: 'taken', limit: 5 },
    { sort: 'added', limit: 50, category: 'even' },
    { sort: 'taken', limit: 3, cursor: { key: T0 - 3000, id: id(3) } },
    { sort: 'added', limit: 4, q: 'picture' },
  ];

  it('answers the page `page` answers, and the account of the session', async () => {
    for (const query of queries) {
      const alone = await pages.page(query);
      expect(alone).not.toBeNull();
      const ana = await pages.pageForSession({ idHash: 'live-ana', now: NOW }, query);
      expect(ana).toEqual({ principal: { username: 'ana', role: 'user' }, page: alone });
      const root = await pages.pageForSession({ idHash: 'live-root', now: NOW }, query);
      expect(root?.principal).toEqual({ username: 'root', role: 'admin' });
    }
  });

  it('builds an empty page for a search without words (not the whole library)', async () => {
    for (const sort of ['added', 'taken'] as const) {
      expect(await pages.page({ sort, limit: 5, q: `%_\\'` })).toEqual({ items: '', next: null });
    }
  });

  it('answers null for a session that is unknown, expired, or whose account is gone or disabled', async () => {
    const query = queries[0] as GalleryJsonQuery;
    expect(await pages.pageForSession({ idHash: 'nobody', now: NOW }, query)).toBeNull();
    expect(await pages.pageForSession({ idHash: 'expired', now: NOW }, query)).toBeNull();
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await credentials.createSession('orphan', 'ghost', T0, NOW + 1);
    expect(await pages.pageForSession({ idHash: 'orphan', now: NOW }, query)).toBeNull();
    await credentials.deleteSession('live-ana');
    expect(await pages.pageForSession({ idHash: 'live-ana', now: NOW }, query)).toBeNull();
    await credentials.createSession('live-ana', 'ana', T0, NOW + 1);
    // A disabled account's session, even one opened as it was being disabled.
    await accounts.putUser(store.db, { username: 'dee', passwordHash: 'x', role: 'user' }, 'h3');
    await accounts.setAccess(store.db, 'dee', { disabled: true }, 'h4');
    await credentials.createSession('live-dee', 'dee', T0, NOW + 1);
    expect(await pages.pageForSession({ idHash: 'live-dee', now: NOW }, query)).toBeNull();
  });

  it('does not build the page for a session that is not live', async () => {
    for (const [hash, built] of [
      ['nobody', false],
      ['live-root', true],
    ] as const) {
      const statement = pageStatement({ sort: 'taken', limit: 5 }, null, sql``, {
        idHash: hash,
        now: NOW,
      });
      const compiled = statement.compile(store.db);
      const explained = await sql<{
        'QUERY PLAN': unknown;
      }>`explain (analyze, format json) ${sql.raw(
        inline(compiled.sql, compiled.parameters),
      )}`.execute(store.db);
      const scans = scansOf(explained.rows[0]?.['QUERY PLAN'], 'pictures');
      expect(scans.length, hash).toBeGreaterThan(0);
      // A plan node that never ran reports 0 loops.
      expect(
        scans.some((node) => node['Actual Loops'] > 0),
        hash,
      ).toBe(built);
    }
  });
});

/** `sql` with its `$n` parameters written in as literals (EXPLAIN takes no parameters here). */
function inline(text: string, parameters: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = parameters[Number(n) - 1];
    return typeof value === 'number' ? String(value) : `'${String(value).replaceAll("'", "''")}'`;
  });
}

interface PlanNode {
  'Relation Name'?: string;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

/** The plan's nodes that read `table`. */
function scansOf(plan: unknown, table: string): PlanNode[] {
  const found: PlanNode[] = [];
  const visit = (node: PlanNode) => {
    if (node['Relation Name'] === table) found.push(node);
    for (const child of node.Plans ?? []) visit(child);
  };
  const root = (plan as { Plan: PlanNode }[])[0];
  if (root) visit(root.Plan);
  return found;
}
