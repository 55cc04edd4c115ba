/**
 * Test fixtures for the folder engine's unit tests (imported by `*.test.ts` only): a ChangeLog
 * over a real SQLite database whose apply targets are the real repositories.
 */
import { libraryRepositories } from '../oplog/replica-state.js';
import type Database from 'better-sqlite3';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { SqlAccountRepository } from '../accounts/account.repository.js';
import { SqlCredentialRepository } from '../accounts/credential.repository.js';
import { openDatabase } from '../db/database.js';
import { DeviceRepository } from '../devices/device.repository.js';
import { ChangeLog } from '../oplog/change-log.js';
import { OpLogRepository } from '../oplog/oplog.repository.js';
import { SqlPictureRepository } from '../pictures/picture.repository.js';
import { OpClockRepository } from '../storage/metadata/op-clock.repository.js';
import { openReplicaState, type ReplicaState } from '../oplog/replica-state.js';
import type { LocalSqlite, MetadataStore } from '../storage/metadata/dialect.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import type { ContentSource } from './content-source.js';
import pino from 'pino';
import { HybridClock } from '../core/hlc.js';
import type { Op } from '../oplog/op.js';
import { FolderIndexRepository } from './folder-index.repository.js';
import { FolderSync, type FolderSyncDeps } from './folder-sync.js';
import { ensureMarker } from './marker.js';

export interface FolderReplica extends ReplicaState {
  readonly store: MetadataStore;
  readonly index: FolderIndexRepository;
}

/** A node's replica state on a new SQLite file, with its folder index. */
export function folderReplica(file: string, selfId: string): FolderReplica {
  const store = sqliteStoreOver(openDatabase(file));
  const state = openReplicaState(store, selfId);
  if (state.folders === null) throw new Error('SQLite store without a folder index');
  return { ...state, store, index: state.folders };
}

const stores = new WeakMap<Database.Database, MetadataStore>();

/** The metadata store over a test's open SQLite connection (one per connection). */
export function storeFor(db: Database.Database): MetadataStore {
  let store = stores.get(db);
  if (store === undefined) {
    store = sqliteStoreOver(db);
    stores.set(db, store);
  }
  return store;
}

/** The connection's synchronous access, shared with its store's transactions. */
export function localOf(db: Database.Database): LocalSqlite {
  const local = storeFor(db).local;
  if (local === null) throw new Error('not SQLite');
  return local;
}

/** A ChangeLog on the test's connection whose folder target is `index` (on the same one). */
export function folderChangeLog(
  db: Database.Database,
  selfId: string,
  index: FolderIndexRepository,
  oplog?: OpLogRepository,
): ChangeLog {
  return withIndex(storeFor(db), selfId, index, oplog);
}

function withIndex(
  store: MetadataStore,
  selfId: string,
  index: FolderIndexRepository,
  oplog: OpLogRepository = new OpLogRepository(store),
): ChangeLog {
  return new ChangeLog(store, oplog, new OpClockRepository(store.dialect), selfId, {
    pictures: new SqlPictureRepository(store),
    accounts: new SqlAccountRepository(store),
    credentials: new SqlCredentialRepository(store),
    hasBlob: () => false,
    devices: new DeviceRepository(store),
    ...libraryRepositories(store),
    folders: index,
    selfId,
  });
}

/**
 * A fresh temp directory and SQLite database for each test of the file (removed after it):
 * `use` is told them before each test.
 */
export function useTempDb(
  prefix: string,
  use: (base: string, db: Database.Database) => void,
): void {
  let base = '';
  let db: Database.Database | null = null;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), prefix));
    db = openDatabase(join(base, 'mosaic.db'));
    use(base, db);
  });
  afterEach(async () => {
    db?.close();
    await rm(base, { recursive: true, force: true });
  });
}

import { sha256Hex } from './peer-in-memory.js';

export { peerHolding, sha256Hex } from './peer-in-memory.js';

/** The node under test and its one peer, in the folder engine's unit tests. */
export const SELF_ID = 'aaaaaaaaaaaaaaa1';
export const PEER_ID = 'aaaaaaaaaaaaaaa2';

/**
 * A FolderSync of folder 'folder' at `root` (made, with its marker) on the test's database,
 * pulling from `peer`; `deps` adds to or overrides its dependencies.
 */
export async function pullingFolder(
  db: Database.Database,
  root: string,
  peer: ContentSource | ContentSource[],
  deps: Partial<FolderSyncDeps> = {},
): Promise<{ sync: FolderSync; index: FolderIndexRepository; changes: ChangeLog }> {
  await mkdir(root, { recursive: true });
  await ensureMarker(root, 'folder');
  const index = new FolderIndexRepository(localOf(db));
  const changes = folderChangeLog(db, SELF_ID, index);
  const sync = new FolderSync({
    config: { id: 'folder', root },
    index,
    changes,
    selfId: SELF_ID,
    selfName: 'n1',
    sources: () => (Array.isArray(peer) ? peer : [peer]),
    log: pino({ level: 'silent' }),
    ...deps,
  });
  return { sync, index, changes };
}

/**
 * PEER_ID's `file.put` of `path` (a deletion when `data` is null; `data` is ignored for a
 * directory), stamped by `clock`.
 */
export function peerPut(
  clock: HybridClock,
  seq: number,
  path: string,
  data: Buffer | null,
  vv: Record<string, number>,
  options: { originName?: string; mtimeMs?: number; entry?: 'file' | 'dir' } = {},
): Op {
  const entry = options.entry ?? 'file';
  return {
    origin: PEER_ID,
    seq,
    hlc: clock.next(),
    body: {
      kind: 'file.put' as const,
      folder: 'folder',
      path,
      entry,
      deleted: data === null,
      hash: data === null || entry === 'dir' ? null : sha256Hex(data),
      size: data === null || entry === 'dir' ? 0 : data.length,
      mtimeMs: options.mtimeMs ?? Date.now(),
      vv,
      originName: options.originName ?? 'n2',
    },
  };
}

/** PEER_ID's operations for `files` (version 1), after those for the directories `dirs`. */
export function peerPuts(
  files: readonly { path: string; data: Buffer; mtimeMs: number }[],
  dirs: readonly string[] = [],
): Op[] {
  const clock = new HybridClock(PEER_ID, () => Date.now());
  return [
    ...dirs.map((path) => ({ path, data: Buffer.alloc(0), entry: 'dir' as const, mtimeMs: 0 })),
    ...files.map((f) => ({ ...f, entry: 'file' as const })),
  ].map(({ path, data, entry, mtimeMs }, i) =>
    peerPut(clock, i + 1, path, data, { [PEER_ID]: 1 }, { entry, mtimeMs }),
  );
}
