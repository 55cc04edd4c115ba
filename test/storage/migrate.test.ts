/**
 * `mosaic migrate` on real parts: a node directory made by a real node through its API
 * (pictures, a deleted one in the trash, thumbnails, accounts, a session, an API token, an
 * event with a photo), moved into a real PostgreSQL and a real OpenStack Swift (s3api); then
 * every table compared row by row and every blob byte by byte.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { S3BlobStore } from '../../src/blobs/s3-blob-store.js';
import { openPostgresStore } from '../../src/storage/metadata/postgres.js';
import { OpClockRepository } from '../../src/storage/metadata/op-clock.repository.js';
import { listArea } from '../../src/storage/migrate/blobs.js';
import {
  MIGRATED_FILE,
  localLayout,
  migrateSite,
  type MigrateOptions,
} from '../../src/storage/migrate/migrate.js';
import { openSqliteSource } from '../../src/storage/migrate/sqlite-source.js';
import { readPage, type AnyTables, type Row } from '../../src/storage/migrate/tables.js';
import {
  MIGRATION_KEY,
  MigrationInProgressError,
  assertNoMigrationInProgress,
} from '../../src/storage/migrate/target.js';
import {
  ADMIN_PASSWORD,
  BIN,
  REPO_ROOT,
  addUser,
  api,
  cleanup,
  login,
  makeImage,
  makeTempDir,
  startNode,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startSwift, type SwiftServer } from '../helpers/swift.js';

const run = promisify(execFile);

let pg: PostgresServer;
let swift: SwiftServer;
/** A stopped node's data directory, made once; each test migrates its own copy. */
let fixture: string;
let buckets = 0;

beforeAll(async () => {
  [pg, swift] = await Promise.all([startPostgres(), startSwift()]);
  fixture = await makeFixture();
}, 180_000);
afterAll(async () => {
  await cleanup();
  await Promise.all([pg.stop(), swift.stop()]);
});

async function makeFixture(): Promise<string> {
  const node = await startNode({ args: ['--name', 'old-box'] });
  try {
    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const ids: string[] = [];
    for (let seed = 1; seed <= 6; seed++) {
      const file = await makeImage({ width: 320, height: 240, format: 'jpeg', seed });
      const up = await admin.upload<Picture>({ file, fields: { title: `picture ${seed}` } });
      expect(up.status, JSON.stringify(up.body)).toBe(201);
      ids.push(up.body.id);
    }
    expect((await admin.patch(`/api/pictures/${ids[0]}`, { title: 'renamed' })).status).toBe(200);
    expect((await admin.delete(`/api/pictures/${ids[1]}`)).status).toBe(204);
    expect((await admin.fetch(`/api/pictures/${ids[2]}/thumb?size=large`)).status).toBe(200);
    await addUser(node.dataDir, 'alice', 'alice-password-123');
    const alice = api(node.url, await login(node.url, 'alice', 'alice-password-123'));
    expect((await alice.post('/api/tokens', { name: 'laptop' })).status).toBe(201);
    const event = await admin.post<{ id: string }>('/api/events', {
      title: 'Picnic',
      votingSeconds: 60,
    });
    expect(event.status, JSON.stringify(event.body)).toBe(201);
    const form = new FormData();
    form.append('file', new Blob([await makeImage({ seed: 99, format: 'jpeg' })]), 'p.jpg');
    const photo = await admin.fetch(`/api/events/${event.body.id}/photos`, {
      method: 'POST',
      body: form,
    });
    expect(photo.status, await photo.text()).toBe(201);
  } finally {
    expect(await node.stop()).toBe(0);
  }
  return node.dataDir;
}

async function copyOfFixture(): Promise<string> {
  const dir = await makeTempDir('mosaic-migrate-');
  await cp(fixture, dir, { recursive: true });
  return dir;
}

function s3Url(bucket: string): string {
  return `s3://${bucket}/site?endpoint=${swift.endpoint}&region=${swift.region}`;
}

function s3Env(): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey };
}

async function target(): Promise<{ database: string; blobs: string; bucket: string }> {
  const bucket = `mosaic-migrate-${process.pid}-${++buckets}`;
  return { database: await pg.createDatabase(), blobs: s3Url(bucket), bucket };
}

async function cli(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'migrate', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...s3Env() },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Every row of every table on both sides, in key order. */
async function expectSameTables(sqliteFile: string, database: string): Promise<number> {
  const source = openSqliteSource(sqliteFile);
  const store = await openPostgresStore(database);
  let compared = 0;
  try {
    const pgDb = store.db as unknown as Kysely<AnyTables>;
    for (const table of await source.tables()) {
      const keys = await source.keyColumns(table);
      const all = async (db: Kysely<AnyTables>): Promise<Row[]> =>
        readPage(db, table, keys, null, 1_000_000);
      const [a, b] = await Promise.all([all(source.db), all(pgDb)]);
      // PostgreSQL's generated columns: the search tsvector, a picture's JSON view.
      const withoutSearch = b.map(({ search: _search, view_json: _view, ...rest }) => rest);
      expect(withoutSearch, table).toEqual(a);
      compared += a.length;
    }
  } finally {
    await Promise.all([source.close(), store.close()]);
  }
  return compared;
}

async function expectSameBlobs(dataDir: string, bucket: string): Promise<number> {
  const scratch = await makeTempDir('mosaic-migrate-check-');
  const s3 = new S3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
  const exists = (key: string) =>
    s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );
  let compared = 0;
  try {
    for (const name of ['pictures', 'events'] as const) {
      const layout = localLayout(dataDir, name);
      const prefix = name === 'pictures' ? 'site/' : 'site/events/';
      const store = new S3BlobStore({
        bucket,
        prefix,
        endpoint: swift.endpoint,
        region: swift.region,
        credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
        scratchDir: scratch,
      });
      try {
        for (const hash of await listArea(layout, 'live')) {
          const local = await readFile(join(layout.blobsDir, hash.slice(0, 2), hash));
          const chunks: Buffer[] = [];
          for await (const chunk of await store.read(hash)) chunks.push(chunk as Buffer);
          expect(Buffer.concat(chunks).equals(local), `${name} blob ${hash}`).toBe(true);
          compared++;
        }
        for (const hash of await listArea(layout, 'trash')) {
          expect(await exists(`${prefix}trash/${hash}`), `${name} trash ${hash}`).toBe(true);
          expect(await store.has(hash)).toBe(false);
          compared++;
        }
        for (const named of await listArea(layout, 'named')) {
          const stream = await store.readNamed(named);
          const chunks: Buffer[] = [];
          for await (const chunk of stream ?? []) chunks.push(chunk as Buffer);
          const local = await readFile(join(layout.namedDir, named));
          expect(Buffer.concat(chunks).equals(local), `${name} named ${named}`).toBe(true);
          compared++;
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    s3.destroy();
    await rm(scratch, { recursive: true, force: true });
  }
  return compared;
}

describe('mosaic migrate', () => {
  test('moves every row and every blob; the site keeps its identity and op clock', async () => {
    const dir = await copyOfFixture();
    const to = await target();
    const first = await cli(['--from-data', dir, '--database', to.database, '--blobs', to.blobs]);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/Done: site [0-9a-f]{16}/);

    const old = join(dir, MIGRATED_FILE);
    const rows = await expectSameTables(old, to.database);
    const blobs = await expectSameBlobs(dir, to.bucket);
    // 6 pictures (one trashed), their thumbnails, a large one, an event photo and its thumbnail.
    expect(blobs).toBeGreaterThanOrEqual(6 + 6);
    expect(rows).toBeGreaterThan(20);

    // The site's next operation continues its own seqs, with an HLC above every one it saw.
    const store = await openPostgresStore(to.database);
    try {
      const { id, maxSeq, maxHlc } = await store.transaction(async (trx) => {
        const meta = await trx
          .selectFrom('meta')
          .select('value')
          .where('key', '=', 'node_id')
          .executeTakeFirstOrThrow();
        const own = await trx
          .selectFrom('ops')
          .select((eb) => eb.fn.max('seq').as('s'))
          .where('origin', '=', meta.value)
          .executeTakeFirstOrThrow();
        const hlc = await trx
          .selectFrom('ops')
          .select((eb) => eb.fn.max('hlc').as('h'))
          .executeTakeFirstOrThrow();
        return { id: meta.value, maxSeq: own.s, maxHlc: hlc.h };
      });
      expect(maxSeq).toBeGreaterThan(5);
      const next = await store
        .transaction(async (trx) => {
          const [stamp] = await new OpClockRepository(store.dialect).allocate(trx, id, 1);
          throw Object.assign(new Error('rollback'), { stamp });
        })
        .catch((e: unknown) => (e as { stamp?: { seq: number; hlc: string } }).stamp);
      expect(next?.seq).toBe(maxSeq + 1);
      expect((next?.hlc ?? '') > maxHlc).toBe(true);
      await assertNoMigrationInProgress(store);
    } finally {
      await store.close();
    }

    // Running it again does nothing, and says so.
    const again = await cli(['--from-data', dir, '--database', to.database, '--blobs', to.blobs]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/Nothing to do/);

    // The old node started again by mistake (its file renamed back) and took a new operation:
    // running migrate again says so instead of "nothing to do".
    await rename(old, join(dir, 'mosaic.db'));
    const revived = await startNode({ dataDir: dir });
    const admin = api(revived.url, await login(revived.url, 'admin', ADMIN_PASSWORD));
    expect((await admin.post('/api/tokens', { name: 'late' })).status).toBe(201);
    expect(await revived.stop()).toBe(0);
    const late = await cli(['--from-data', dir, '--database', to.database, '--blobs', to.blobs]);
    expect(late.code, late.output).toBe(1);
    expect(late.output).toMatch(/The old node ran after it was migrated/);
  });

  test('an interrupted migration refuses nodes, then finishes when run again', async () => {
    const dir = await copyOfFixture();
    const to = await target();
    const base: MigrateOptions = {
      dataDir: dir,
      database: to.database,
      blobs: to.blobs,
      env: s3Env(),
      batchRows: 2,
    };
    // Interrupted in the middle of a table (after its second batch), then in the middle of the
    // blobs: each checkpoint has committed, so this is what a crash right after it leaves.
    for (const [stopAt, after] of [
      ['table:ops', 2],
      ['blobs:pictures:live', 1],
    ] as const) {
      let seen = 0;
      await expect(
        migrateSite({
          ...base,
          afterCheckpoint: (stage) => {
            if (stage === stopAt && ++seen === after) throw new Error(`crash in ${stage}`);
          },
        }),
      ).rejects.toThrow(`crash in ${stopAt}`);
      const store = await openPostgresStore(to.database);
      try {
        await expect(assertNoMigrationInProgress(store)).rejects.toThrow(MigrationInProgressError);
        const marker = await store.db
          .selectFrom('meta')
          .select('value')
          .where('key', '=', MIGRATION_KEY)
          .executeTakeFirstOrThrow();
        expect(JSON.parse(marker.value)).toMatchObject({ stage: stopAt });
      } finally {
        await store.close();
      }
    }
    // A node started on the half-filled database refuses to run.
    await expect(
      startNode({ args: ['--database', to.database, '--blobs', to.blobs], env: s3Env() }),
    ).rejects.toThrow(/half moved in by mosaic migrate/);
    const done = await migrateSite(base);
    expect(done.state).toBe('migrated');
    // The resumed run did not copy again what the interrupted ones had finished.
    expect(done.tables.map((t) => t.table)).not.toContain('meta');
    expect(done.blobs['blobs:pictures:live']?.copied).toBeLessThan(5);
    await expectSameTables(join(dir, MIGRATED_FILE), to.database);
    await expectSameBlobs(dir, to.bucket);
  });

  test('a node killed with SIGKILL (its last commits only in the WAL) moves whole', async () => {
    const dir = await copyOfFixture();
    const node = await startNode({ dataDir: dir });
    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const file = await makeImage({ width: 200, height: 100, format: 'png', seed: 4242 });
    const up = await admin.upload<Picture>({ file, fields: { title: 'just before the crash' } });
    expect(up.status).toBe(201);
    await node.kill();
    expect(existsSync(join(dir, 'mosaic.db-wal'))).toBe(true);
    const to = await target();
    const done = await migrateSite({
      dataDir: dir,
      database: to.database,
      blobs: to.blobs,
      env: s3Env(),
    });
    expect(done.state).toBe('migrated');
    await expectSameTables(join(dir, MIGRATED_FILE), to.database);
    await expectSameBlobs(dir, to.bucket);
    const store = await openPostgresStore(to.database);
    try {
      const row = await store.db
        .selectFrom('pictures')
        .select('title')
        .where('id', '=', up.body.id)
        .executeTakeFirst();
      expect(row?.title).toBe('just before the crash');
    } finally {
      await store.close();
    }
  });

  test('refuses while the node runs, and a database that holds another site', async () => {
    const dir = await copyOfFixture();
    const to = await target();
    const running: NodeProcess = await startNode({ dataDir: dir });
    try {
      const refused = await cli([
        '--from-data',
        dir,
        '--database',
        to.database,
        '--blobs',
        to.blobs,
      ]);
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/in use by another process.*Stop the node first/s);
    } finally {
      expect(await running.stop()).toBe(0);
    }
    // A database a node already started on (another identity) is not overwritten.
    const other = await openPostgresStore(to.database);
    await other.db
      .insertInto('meta')
      .values({ key: 'node_id', value: 'ffffffffffffffff' })
      .execute();
    await other.close();
    const wrong = await cli(['--from-data', dir, '--database', to.database, '--blobs', to.blobs]);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/holds another site \(node ffffffffffffffff\)/);
    // The node's own file is untouched and still starts.
    const again = await startNode({ dataDir: dir });
    expect((await api(again.url).get('/healthz')).status).toBe(200);
    expect(await again.stop()).toBe(0);
  });
});
