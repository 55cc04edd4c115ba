/**
 * Pieces of the composition root (node.ts) that build one thing each from the configuration:
 * the synced folders, what the peer routes serve, the device sync service, resumable
 * uploads and the first admin account.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AccountService } from '../accounts/account.service.js';
import { passwordProblem } from '../accounts/password-rule.js';
import type { NodeConfig } from '../config/node-config.js';
import { parseFolderSpec } from '../folders/folder-config.js';
import type { FolderIndexRepository } from '../folders/folder-index.repository.js';
import { FolderSync, type FolderSyncDeps } from '../folders/folder-sync.js';
import type { ChangeLog } from '../oplog/change-log.js';
import { DeviceService } from '../devices/device.service.js';
import { FolderAccess } from '../devices/folder-access.js';
import { UploadStore } from '../devices/upload-store.js';
import type { Faults } from '../faults/faults.js';
import type { PeerRoutesDeps } from '../http/routes/peer.routes.js';
import { PeerVerifier } from '../replication/peer-auth.js';
import type { BlobSync } from '../replication/blob-sync.js';
import type { Replicator } from '../replication/replicator.js';
import { VERSION } from '../version.js';
import type { ReplicaState } from '../oplog/replica-state.js';
import type { NodeIdentity } from './identity.js';
import { FOLDERS_NEED_SQLITE } from './site.js';
import { TUS_EXPIRY_MS, TusUploads, type TusUploadsDeps } from '../http/tus-uploads.js';
import { tusArea } from '../http/tus-area.js';
import type { Metrics } from '../http/metrics.js';
import { parseBlobsUrl } from '../config/blobs-url.js';
import { LeaseRepository } from '../storage/metadata/lease.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';

const DAY_MS = 24 * 3600 * 1000;

/** The synced folders of `--folder` (none on a site on PostgreSQL: they stay on one machine). */
export function openFolders(
  config: NodeConfig,
  deps: {
    readonly index: FolderIndexRepository | null;
    readonly changes: ChangeLog;
    readonly identity: NodeIdentity;
    readonly sources: FolderSyncDeps['sources'];
    readonly nodeNames: NonNullable<FolderSyncDeps['nodeNames']>;
    readonly goneAuthors: NonNullable<FolderSyncDeps['goneAuthors']>;
    readonly log: Logger;
  },
): Map<string, FolderSync> {
  const folders = new Map<string, FolderSync>();
  if (config.folders.length === 0) return folders;
  const index = deps.index;
  if (index === null) throw new Error(FOLDERS_NEED_SQLITE);
  for (const spec of config.folders) {
    const folder = parseFolderSpec(spec);
    if (folders.has(folder.id)) {
      throw new Error(`Two folders are named "${folder.id}": use NAME=DIR.`);
    }
    folders.set(
      folder.id,
      new FolderSync({
        config: folder,
        index,
        changes: deps.changes,
        selfId: deps.identity.id,
        selfName: deps.identity.name,
        sources: deps.sources,
        nodeNames: deps.nodeNames,
        goneAuthors: deps.goneAuthors,
        log: deps.log,
        holdUntilStarted: true,
        trashRetentionMs: config.trashRetentionDays * DAY_MS,
      }),
    );
  }
  return folders;
}

/**
 * What the peer routes serve (peer.routes.ts), the synced folders' files among it; null
 * without a cluster key (no replication, no peer routes).
 */
export function peerServing(
  config: NodeConfig,
  deps: Pick<PeerRoutesDeps, 'oplog' | 'changes' | 'blobs' | 'faults'> & {
    readonly identity: NodeIdentity;
    readonly selfUrl: () => string | null;
    readonly replicator: Replicator | null;
    readonly blobSync: BlobSync;
    readonly folders: ReadonlyMap<string, FolderSync>;
  },
): PeerRoutesDeps | null {
  const { identity, replicator, folders } = deps;
  if (replicator === null || config.clusterKey === undefined) return null;
  return {
    verifier: new PeerVerifier(config.clusterKey, identity.id),
    self: () => ({
      nodeId: identity.id,
      name: identity.name,
      url: deps.selfUrl(),
      version: VERSION,
    }),
    oplog: deps.oplog,
    changes: deps.changes,
    blobs: deps.blobs,
    faults: deps.faults,
    pendingBlobBytes: () => deps.blobSync.pendingBytes(),
    folderContent: (folder, hash) => folders.get(folder)?.contentFor(hash) ?? Promise.resolve(null),
    folderSmallContents: (folder, hashes) =>
      folders.get(folder)?.smallContents(hashes) ?? (() => Promise.resolve(null)),
    folderBlocks: (folder, hash) => folders.get(folder)?.blocksFor(hash) ?? Promise.resolve(null),
    contacted: (nodeId, url) => {
      replicator.noteInbound(nodeId, url);
    },
  };
}

/** Device sync (`mosaic sync`) over the synced folders, and who may use which folder. */
export async function openDevices(
  config: NodeConfig,
  deps: {
    readonly state: ReplicaState;
    readonly faults: Faults;
    readonly folders: ReadonlyMap<string, FolderSync>;
    readonly isNode: (id: string) => Promise<boolean>;
    readonly nodeName: string;
    /** The admin account's creation at a site's first start (see seedAdmin). */
    readonly adminSeeded: Promise<void>;
    readonly log: Logger;
  },
) {
  const { state } = deps;
  const access = new FolderAccess(config.folderUsers);
  access.assertFolders(deps.folders.keys());
  // After the admin's creation: a grant naming it is said to be needless, not unknown.
  void deps.adminSeeded
    .then(() => access.doubts((name) => state.accounts.findUser(name)))
    .then((lines) => {
      for (const line of lines) deps.log.warn(line);
    })
    .catch(() => undefined);
  const uploads = state.folders === null ? null : new UploadStore(state.folders, deps.faults);
  const devices = new DeviceService({
    oplog: state.oplog,
    changes: state.changes,
    devices: state.devices,
    access,
    uploads,
    folder: (id) => deps.folders.get(id),
    isNode: deps.isNode,
    nodeName: deps.nodeName,
  });
  await devices.announceLegacyDevices();
  return { devices, access, uploads };
}

/**
 * Creates the `admin` account on a site's first start, telling its password once. Resolves when
 * it is decided (MOSAIC_ADMIN_PASSWORD checked: a bad one fails the start); `created` when the
 * account exists, after its password's hash (scrypt, ~0.25 s of a pool thread), which the node
 * does not wait for before it listens: sign-ins wait for it (`AccountService.seedAdmin`).
 */
export async function seedAdmin(
  accounts: AccountService,
  config: NodeConfig,
  announce: (line: string) => void,
): Promise<{ readonly created: Promise<void> }> {
  const password = config.adminPassword ?? randomBytes(12).toString('base64url');
  // A password the node would refuse from `mosaic user add` is refused here too, but only when
  // it would be used: a site that has accounts ignores the variable.
  const problem = config.adminPassword === undefined ? null : passwordProblem(password);
  if (await accounts.hasAccounts()) return { created: Promise.resolve() };
  if (problem !== null) throw new Error(`MOSAIC_ADMIN_PASSWORD: ${problem}`);
  const created = accounts.seedAdmin(password).then((made) => {
    if (!made || config.adminPassword !== undefined) return;
    announce(`Created the account "admin" with the password: ${password}`);
    announce('It is shown only this once. Set MOSAIC_ADMIN_PASSWORD to choose it yourself.');
    if (config.clusterKey !== undefined) {
      announce(
        'If this node joins a cluster that has its admin, that admin’s password replaces it once the node has heard from its peers.',
      );
    }
  });
  return { created };
}

/**
 * Resumable uploads (tus): partial uploads in the data directory, or in the bucket with S3
 * (then a lease row lets any process of a site resume one: tus-area.ts).
 */
export function openTus(
  config: NodeConfig,
  deps: {
    readonly store: MetadataStore;
    /** A site of several processes on PostgreSQL. */
    readonly shared: boolean;
    readonly blobs: TusUploadsDeps['blobs'];
    readonly pictures: TusUploadsDeps['pictures'];
    readonly metrics: Metrics;
    readonly log: Logger;
    /** Crash points for the tests (tus-s3-store.ts). */
    readonly faults: Faults;
  },
): TusUploads {
  const { store, metrics, log } = deps;
  return new TusUploads({
    area: tusArea({
      dataDir: config.dataDir,
      blobs: parseBlobsUrl(config.blobs, process.env),
      leases: deps.shared ? new LeaseRepository(store.db, store.dialect) : null,
      expiryMs: TUS_EXPIRY_MS,
      log,
      faults: deps.faults,
    }),
    maxUploadBytes: config.maxUploadBytes,
    blobs: deps.blobs,
    pictures: deps.pictures,
    log,
    onFinished: (created, size) => {
      metrics.uploads.inc({ result: created ? 'created' : 'duplicate' });
      if (created) metrics.uploadBytes.inc(size);
    },
  });
}
