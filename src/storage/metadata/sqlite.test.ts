import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodeHlc } from '../../core/hlc.js';
import { MIGRATIONS } from '../../db/migrations.js';
import { OpClockRepository } from './op-clock.repository.js';
import { SiteIdentityRepository } from './site-identity.repository.js';
import { openMetadataStore } from './store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-sqlite-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A data directory as the node left it before this layer: schema version 6, some ops. */
function oldNode(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  for (const [version, migration] of MIGRATIONS.slice(0, 6).entries()) {
    db.exec(migration);
    db.pragma(`user_version = ${version + 1}`);
  }
  const insertMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  insertMeta.run('node_id', 'a1b2c3d4e5f60718');
  insertMeta.run('node_name', 'attic');
  insertMeta.run('cookie_secret', 'secret');
  const insertOp = db.prepare(
    "INSERT INTO ops (origin, seq, hlc, kind, body) VALUES (?, ?, ?, 'user.create', '{}')",
  );
  db.prepare('INSERT INTO origins (origin, contiguous) VALUES (?, 3)').run('a1b2c3d4e5f60718');
  for (let seq = 1; seq <= 3; seq++) {
    insertOp.run(
      'a1b2c3d4e5f60718',
      seq,
      encodeHlc({ wall: 1000 + seq, counter: 0, node: 'a1b2c3d4e5f60718' }),
    );
  }
  db.close();
}

it('opens an existing data directory unchanged and carries on from its op log', async () => {
  const file = join(dir, 'mosaic.db');
  oldNode(file);
  const store = await openMetadataStore(`sqlite:${file}`);
  try {
    const identity = await new SiteIdentityRepository(store).load();
    expect(identity).toEqual({ id: 'a1b2c3d4e5f60718', name: 'attic', cookieSecret: 'secret' });
    const clock = new OpClockRepository(store.dialect, () => 500);
    const [stamp] = await store.transaction((trx) => clock.allocate(trx, identity.id, 1));
    expect(stamp).toEqual({
      seq: 4,
      hlc: encodeHlc({ wall: 1003, counter: 1, node: identity.id }),
    });
  } finally {
    await store.close();
  }
  const db = new Database(file, { readonly: true });
  expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  expect(db.prepare('SELECT COUNT(*) FROM ops').pluck().get()).toBe(3);
  db.close();
});

it('upgrades all or nothing: a migration that fails leaves the old schema as it was', async () => {
  const file = join(dir, 'mosaic.db');
  oldNode(file);
  // A table a later migration creates, there already: that migration fails.
  const before = new Database(file);
  before.exec('CREATE TABLE folder_applying (x INTEGER)');
  before.close();
  await expect(openMetadataStore(`sqlite:${file}`)).rejects.toThrow(/folder_applying/);
  const db = new Database(file, { readonly: true });
  expect(db.pragma('user_version', { simple: true })).toBe(6);
  // Nor is any migration before the failing one kept (op_clock is the 7th's).
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
  expect(tables).not.toContain('op_clock');
  expect(db.prepare('SELECT COUNT(*) FROM ops').pluck().get()).toBe(3);
  db.close();
});

it('reports the error that ended a transaction, not a failed rollback, when the disk is full', async () => {
  const file = join(dir, 'mosaic.db');
  const store = await openMetadataStore(`sqlite:${file}`);
  try {
    const database = store.local?.database;
    if (database === undefined) throw new Error('no SQLite connection');
    // The file may grow by two pages more: SQLite then fails with SQLITE_FULL, as on a full
    // disk, and ends the transaction itself.
    const pages = Number(database.pragma('page_count', { simple: true }));
    database.pragma(`max_page_count = ${pages + 2}`);
    const fill = store.transaction(async (trx) => {
      for (let i = 0; i < 20; i++) {
        await sql`INSERT INTO meta (key, value) VALUES (${`k${i}`}, ${'x'.repeat(4000)})`.execute(
          trx,
        );
      }
    });
    await expect(fill).rejects.toMatchObject({
      code: 'SQLITE_FULL',
      message: 'database or disk is full',
    });
    // Room again: the store carries on, and nothing of the failed transaction was kept.
    database.pragma('max_page_count = 1073741823');
    await store.transaction((trx) =>
      sql`INSERT INTO meta (key, value) VALUES ('after', 'ok')`.execute(trx),
    );
    const keys = database.prepare("SELECT key FROM meta WHERE key LIKE 'k%' OR key = 'after'");
    expect(keys.pluck().all()).toEqual(['after']);
  } finally {
    await store.close();
  }
});

it('refuses a URL without a file', async () => {
  await expect(openMetadataStore('sqlite:')).rejects.toThrow('No SQLite file');
});
