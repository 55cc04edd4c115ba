/**
 * The composition root of one node: opens the data directory, wires the layers together and
 * starts the HTTP server. Everything a node holds lives under its data directory:
 *
 *   <data>/mosaic.db      SQLite (WAL): identity, op log, pictures, accounts
 *   <data>/blobs/ tmp/ trash/   the content-addressed blob store
 *   <data>/thumbs/        cached thumbnails
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { SqliteAccountRepository } from '../accounts/account.repository.js';
import { AccountService } from '../accounts/account.service.js';
import { BlobStore } from '../blobs/blob-store.js';
import type { NodeConfig } from '../config/node-config.js';
import { HybridClock } from '../core/hlc.js';
import { openDatabase, type Db } from '../db/database.js';
import { buildApp } from '../http/app.js';
import { createMetrics } from '../http/metrics.js';
import { ChangeLog } from '../oplog/change-log.js';
import { OpLogRepository } from '../oplog/oplog.repository.js';
import { Thumbnails } from '../pictures/images.js';
import { SqlitePictureRepository } from '../pictures/picture.repository.js';
import { PictureService } from '../pictures/picture.service.js';
import { VERSION } from '../version.js';
import { loadIdentity, type NodeIdentity } from './identity.js';

const DAY_MS = 24 * 3600 * 1000;
const TRASH_SWEEP_INTERVAL_MS = 3600 * 1000;

export interface RunningNode {
  readonly identity: NodeIdentity;
  readonly url: string;
  readonly app: FastifyInstance;
  readonly db: Db;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where to tell a person the generated admin password (printed once). */
  readonly announce?: (line: string) => void;
  readonly log?: Logger;
}

export async function startNode(
  config: NodeConfig,
  options: StartOptions = {},
): Promise<RunningNode> {
  await mkdir(config.dataDir, { recursive: true });
  const db = openDatabase(join(config.dataDir, 'mosaic.db'));
  const identity = loadIdentity(db, config.name);
  const log = (options.log ?? pino({ level: config.logLevel })).child({ node: identity.name });

  const blobs = new BlobStore(config.dataDir);
  await blobs.init();
  const thumbs = new Thumbnails(join(config.dataDir, 'thumbs'));
  await thumbs.init();

  const oplog = new OpLogRepository(db);
  const clock = new HybridClock(identity.id, Date.now, oplog.lastHlc());
  const pictureRepo = new SqlitePictureRepository(db);
  const accountRepo = new SqliteAccountRepository(db);
  const changes = new ChangeLog(db, oplog, clock, identity.id, {
    pictures: pictureRepo,
    accounts: accountRepo,
    hasBlob: (id) => existsSync(blobs.path(id)),
  });
  const accounts = new AccountService(accountRepo, changes);
  const pictures = new PictureService({
    pictures: pictureRepo,
    blobs,
    thumbs,
    changes,
    nodeName: identity.name,
    log,
  });

  await seedAdmin(
    accounts,
    config,
    options.announce ?? ((line) => process.stdout.write(`${line}\n`)),
  );
  await settleDeletedPictures(db, pictures);

  const metrics = createMetrics(() => pictureRepo.totals());
  const app = await buildApp({
    log,
    info: { nodeId: identity.id, nodeName: identity.name, version: VERSION },
    cookieSecret: identity.cookieSecret,
    maxUploadBytes: config.maxUploadBytes,
    accounts,
    pictures,
    blobs,
    thumbs,
    metrics,
  });

  const retentionMs = config.trashRetentionDays * DAY_MS;
  const sweep = async () => {
    const removed = await blobs.sweepTrash(retentionMs);
    if (removed.length > 0) log.info({ removed: removed.length }, 'trash swept');
    accountRepo.deleteExpiredSessions(Date.now());
  };
  await sweep();
  const sweeper = setInterval(() => {
    sweep().catch((err: unknown) => {
      log.error({ err }, 'trash sweep failed');
    });
  }, TRASH_SWEEP_INTERVAL_MS);
  sweeper.unref();

  const address = await app.listen({ port: config.port, host: config.host });
  const url = address.replace('://[::1]', '://localhost');
  log.info({ url, id: identity.id, version: VERSION }, 'node listening');

  return {
    identity,
    url,
    app,
    db,
    async close() {
      clearInterval(sweeper);
      await app.close();
      db.close();
    },
  };
}

async function seedAdmin(
  accounts: AccountService,
  config: NodeConfig,
  announce: (line: string) => void,
): Promise<void> {
  const password = config.adminPassword ?? randomBytes(12).toString('base64url');
  if (!(await accounts.seedAdmin(password))) return;
  if (config.adminPassword === undefined) {
    announce(`Created the account "admin" with the password: ${password}`);
    announce('It is shown only this once. Set MOSAIC_ADMIN_PASSWORD to choose it yourself.');
  }
}

/** Finishes any trash moves that a crash interrupted (a deleted picture whose bytes remain). */
async function settleDeletedPictures(db: Db, pictures: PictureService): Promise<void> {
  const ids = db
    .prepare('SELECT id FROM pictures WHERE alive = 0 AND has_blob = 1')
    .pluck()
    .all() as string[];
  for (const id of ids) await pictures.settleBytes(id);
}
