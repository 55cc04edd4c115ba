/**
 * `mosaic migrate`: moves a stopped one-process node (its SQLite file and local bytes) into
 * PostgreSQL and an S3 object store, so the site grows into several processes without
 * re-replicating. Every table is copied as it is, identity included (node id, name, cookie
 * secret, `op_clock`, the op log with its seqs and HLCs, the version vector in `origins`): the
 * site keeps its id, its peers see the same seqs and send nothing again, and sessions and
 * tokens still work. Then the bytes, by hash, verified. Then the target is marked complete and
 * the old file renamed `mosaic.db.migrated`, so the old node cannot be started by mistake as a
 * second copy of the same site (it would issue the same seqs for different operations).
 *
 * Idempotent and resumable: progress is kept in the target (./target.ts) and every write is
 * keyed, so running it again after a crash finishes the job, and after success does nothing.
 */
import { existsSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openBlobStores } from '../../blobs/open-blob-stores.js';
import { parseBlobsUrl } from '../../config/blobs-url.js';
import { MIGRATED_DATABASE } from '../../node/data-dir.js';
import { openPostgresStore } from '../metadata/postgres.js';
import { copyArea, type AreaCopied, type BlobArea, type LocalLayout } from './blobs.js';
import { openSqliteSource, type SqliteSource } from './sqlite-source.js';
import { copyTable, stageOf, type AnyTables, type TableCopied } from './tables.js';
import { MigrationTarget, type MigrationProgress } from './target.js';

export interface MigrateOptions {
  /** The node's data directory (holding mosaic.db). */
  readonly dataDir: string;
  /** postgres://… */
  readonly database: string;
  /** s3://BUCKET[/PREFIX]?endpoint=…&region=… */
  readonly blobs: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  /** Called after each progress checkpoint (tests interrupt a migration here). */
  readonly afterCheckpoint?: (stage: string) => void;
  /** Rows per batch (default: as many as fit 20,000 parameters, at most 1000). */
  readonly batchRows?: number;
}

export interface MigrateReport {
  readonly state: 'migrated' | 'already-migrated';
  readonly siteId: string;
  readonly tables: readonly TableCopied[];
  readonly blobs: Readonly<Record<string, AreaCopied>>;
}

export const SOURCE_FILE = 'mosaic.db';
export const MIGRATED_FILE = MIGRATED_DATABASE;

const STORES = ['pictures', 'events'] as const;
const AREAS: readonly BlobArea[] = ['live', 'trash', 'named'];

export async function migrateSite(options: MigrateOptions): Promise<MigrateReport> {
  const log = options.log ?? (() => undefined);
  if (!/^postgres(ql)?:\/\//i.test(options.database)) {
    throw new Error('Give --database as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE');
  }
  const blobsConfig = parseBlobsUrl(options.blobs, options.env ?? process.env);
  if (blobsConfig.kind !== 's3') throw new Error('Give --blobs as s3://BUCKET[/PREFIX]?endpoint=…');
  // After a success the old file is mosaic.db.migrated: running again reads that one, finds the
  // site complete in the target (or, if the target was emptied since, copies it again).
  const live = join(options.dataDir, SOURCE_FILE);
  const old = join(options.dataDir, MIGRATED_FILE);
  const file = existsSync(live) ? live : old;
  if (!existsSync(file)) throw new Error(`No node here: ${live} does not exist.`);
  const source = openSqliteSource(file);
  let report: MigrateReport;
  try {
    report = await migrateOpen(source, options, log);
  } finally {
    await source.close();
  }
  if (file === live) {
    await rename(live, old);
    log(
      `renamed ${live} to ${MIGRATED_FILE}: the old node cannot start as a second copy of the site`,
    );
  }
  return report;
}

async function migrateOpen(
  source: SqliteSource,
  options: MigrateOptions,
  log: (line: string) => void,
): Promise<MigrateReport> {
  const idRow = await source.db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', 'node_id')
    .executeTakeFirst();
  const siteId = typeof idRow?.['value'] === 'string' ? idRow['value'] : null;
  if (siteId === null) throw new Error('The node has no identity yet (it never started).');
  const store = await openPostgresStore(options.database);
  try {
    const target = new MigrationTarget(store);
    const claim = await target.claim(siteId);
    if (claim.state === 'complete') {
      await assertNothingNewer(source, store.db as unknown as Kysely<AnyTables>);
      log(`site ${siteId} is already in the database: nothing to copy`);
      return { state: 'already-migrated', siteId, tables: [], blobs: {} };
    }
    log(`${claim.state === 'fresh' ? 'moving' : 'resuming the move of'} site ${siteId}`);
    let progress = claim.progress;
    const finishStage = async (stage: string): Promise<void> => {
      progress = { ...progress, done: [...progress.done, stage], stage: null, after: null };
      await target.save(progress);
      options.afterCheckpoint?.(stage);
    };

    const tables: TableCopied[] = [];
    for (const table of await source.tables()) {
      const stage = stageOf(table);
      if (progress.done.includes(stage)) continue;
      if (!(await target.hasTable(table))) {
        throw new Error(`The target database has no table ${table}: is it an older Mosaic?`);
      }
      const copied = await copyTable(source, target, table, progress, {
        afterBatch: () => options.afterCheckpoint?.(stage),
        ...(options.batchRows === undefined ? {} : { batchRows: options.batchRows }),
      });
      tables.push(copied);
      log(`table ${table}: ${copied.rows} rows`);
      await finishStage(stage);
    }

    const stores = await openBlobStores(
      { dataDir: scratchDir(options.dataDir), blobs: options.blobs },
      options.env,
    );
    const blobs: Record<string, AreaCopied> = {};
    try {
      for (const name of STORES) {
        const layout = localLayout(options.dataDir, name);
        const into = name === 'pictures' ? stores.pictures : stores.eventPhotos;
        for (const area of AREAS) {
          const stage = `blobs:${name}:${area}`;
          if (progress.done.includes(stage)) continue;
          const after = progress.stage === stage ? afterName(progress) : null;
          const copied = await copyArea(layout, into, area, after, async (last) => {
            progress = { ...progress, stage, after: [last] };
            await target.save(progress);
            options.afterCheckpoint?.(stage);
          });
          blobs[stage] = copied;
          log(
            `${name} ${area}: ${copied.copied} copied (${copied.bytes} bytes), ${copied.present} already there`,
          );
          await finishStage(stage);
        }
      }
    } finally {
      await stores.close();
    }
    await target.finish();
    await rm(scratchDir(options.dataDir), { recursive: true, force: true });
    log(`site ${siteId} moved`);
    return { state: 'migrated', siteId, tables, blobs };
  } finally {
    await store.close();
  }
}

/**
 * After a finished migration the old file must hold nothing the database lacks: if the old
 * node ran again (its file renamed back), its new operations would be lost silently.
 */
async function assertNothingNewer(source: SqliteSource, target: Kysely<AnyTables>): Promise<void> {
  const last = async (db: Kysely<AnyTables>) => {
    const rows = await db
      .selectFrom('ops')
      .select((eb) => [eb.ref('origin').as('origin'), eb.fn.max('seq').as('seq')])
      .groupBy('origin')
      .execute();
    return new Map(rows.map((r) => [String(r['origin']), Number(r['seq'])]));
  };
  const [old, moved] = await Promise.all([last(source.db), last(target)]);
  const behind = [...old].filter(([origin, seq]) => seq > (moved.get(origin) ?? 0));
  if (behind.length > 0) {
    const [origin, seq] = behind[0] ?? ['', 0];
    throw new Error(
      `The old node ran after it was migrated: its file has operations the database lacks ` +
        `(origin ${origin} up to ${seq}, the database ${moved.get(origin) ?? 0}). They cannot be ` +
        `merged in: keep one of the two, and never run both.`,
    );
  }
}

function afterName(progress: MigrationProgress): string | null {
  const last = progress.after?.[0];
  return typeof last === 'string' ? last : null;
}

function scratchDir(dataDir: string): string {
  return join(dataDir, 'migrate-scratch');
}

/** Where a one-process node keeps its bytes (src/blobs/open-blob-stores.ts, local). */
export function localLayout(dataDir: string, store: 'pictures' | 'events'): LocalLayout {
  const root = store === 'pictures' ? dataDir : join(dataDir, 'events');
  return {
    blobsDir: join(root, 'blobs'),
    trashDir: join(root, 'trash'),
    namedDir: store === 'pictures' ? join(dataDir, 'thumbs') : join(root, 'named'),
  };
}
