/**
 * The composition root of one node: opens the data directory, wires the layers together and
 * starts the HTTP server. Everything a node holds lives under its data directory:
 *
 *   <data>/mosaic.db      SQLite (WAL): identity, op log, pictures, accounts
 *   <data>/blobs/ tmp/ trash/ partial/   the content-addressed blob store (or, with
 *                         --blobs s3://…, a bucket; <data>/s3-scratch/ then holds uploads in
 *                         progress and resumable fetches)
 *   <data>/thumbs/        cached thumbnails (objects under named/ in the bucket with S3)
 */
import { parseFolderSpec } from '../folders/folder-config.js';
import { FolderSync } from '../folders/folder-sync.js';
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { AccountService } from '../accounts/account.service.js';
import { LoginLimiter } from '../accounts/login-limiter.js';
import { LoginFanout } from '../replication/login-fanout.js';
import { openBlobStores } from '../blobs/open-blob-stores.js';
import type { NodeConfig } from '../config/node-config.js';
import { openDatabase } from '../db/database.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { SiteIdentityRepository } from '../storage/metadata/site-identity.repository.js';
import { openReplicaState } from '../oplog/replica-state.js';
import { buildApp } from '../http/app.js';
import { LiveFeed } from '../http/live-feed.js';
import { defaultWebRoot } from '../http/web.js';
import { createMetrics, registerFolderMetrics, registerPeerMetrics } from '../http/metrics.js';
import { Faults } from '../faults/faults.js';
import { BlobSync } from '../replication/blob-sync.js';
import { PeerVerifier } from '../replication/peer-auth.js';
import { PeerRepository } from '../replication/peer.repository.js';
import { Replicator } from '../replication/replicator.js';
import { Agent } from 'undici';
import type { AddressInfo } from 'node:net';
import { defaultTargets, startDiscovery } from '../discovery/discovery.js';
import { configureSharp, newDecodeLimiter, Thumbnails } from '../pictures/images.js';
import { PictureService } from '../pictures/picture.service.js';
import { VERSION } from '../version.js';
import { createEvents } from '../events/index.js';
import type { NodeIdentity } from './identity.js';
import { DeviceService } from '../devices/device.service.js';
import { FolderAccess } from '../devices/folder-access.js';
import { UploadStore } from '../devices/upload-store.js';

const DAY_MS = 24 * 3600 * 1000;
const TRASH_SWEEP_INTERVAL_MS = 3600 * 1000;

export interface RunningNode {
  readonly identity: NodeIdentity;
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: MetadataStore;
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
  const store = sqliteStoreOver(openDatabase(join(config.dataDir, 'mosaic.db')));
  const identity = await new SiteIdentityRepository(store).load(config.name);
  const log = (options.log ?? pino({ level: config.logLevel })).child({ node: identity.name });

  const stores = await openBlobStores(config);
  const blobs = stores.pictures;
  // One gate for every image decode of this node: thumbnails and event montages.
  configureSharp();
  const decodes = newDecodeLimiter();
  const thumbs = new Thumbnails(blobs, decodes);
  // Blobs an upload in this process has just committed: what apply needs to know, synchronously
  // and without asking the store, while it commits that upload's operation.
  const justStored = new Set<string>();

  const state = openReplicaState(store, identity.id, { hasBlob: (id) => justStored.has(id) });
  const { changes, oplog, folders: folderIndex } = state;
  const pictureRepo = state.pictures;
  const accountRepo = state.accounts;
  const peers = new PeerRepository(store);
  const loginLimiter = new LoginLimiter();
  const accounts = new AccountService(accountRepo, changes, Date.now, loginLimiter);
  // BlobSync (below) restores or fetches bytes the file route finds missing.
  let blobSyncRef: BlobSync | null = null;
  const pictures = new PictureService({
    pictures: pictureRepo,
    blobs,
    thumbs,
    changes,
    nodeName: identity.name,
    log,
    justStored,
    repairBytes: (id) => {
      blobSyncRef?.schedule(id);
    },
  });

  await seedAdmin(
    accounts,
    config,
    options.announce ?? ((line) => process.stdout.write(`${line}\n`)),
  );
  // Rows whose has_blob disagrees with the store (a crash between a move and its record).
  await pictures.repairAllBytes();

  // Replication: only with a cluster key, which authenticates every peer request.
  if (config.peers.length > 0 && config.clusterKey === undefined) {
    throw new Error(
      'Peers need a cluster key: give --cluster-key or MOSAIC_CLUSTER_KEY (the same on every node).',
    );
  }
  const faults = Faults.fromEnv(process.env);
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 32 });
  let selfUrl: string | null = null;
  let replicator: Replicator | null = null;
  const live = new LiveFeed();
  const blobSync = new BlobSync({
    store,
    pictures: pictureRepo,
    service: pictures,
    blobs,
    sources: () => replicator?.candidates() ?? [],
    log,
    // A replicated picture becomes visible only now: tell the web app again.
    onVisible: (id) => {
      live.publish({ type: 'pictures', ids: [id] });
    },
  });
  blobSyncRef = blobSync;
  if (config.clusterKey !== undefined) {
    replicator = new Replicator({
      selfId: identity.id,
      selfName: identity.name,
      key: config.clusterKey,
      oplog,
      changes,
      peers,
      faults,
      agent,
      log,
      syncIntervalMs: config.syncIntervalMs,
      onPeerUp: () => {
        blobSync.scanMissing().catch((err: unknown) => {
          log.warn({ err }, 'could not list the pictures whose bytes are missing');
        });
      },
    });
  }
  // Sign-in back-off is cluster-wide: outcomes go to every peer that is up.
  const loginFanout =
    replicator === null ? null : new LoginFanout(loginLimiter, () => replicator.reachable(), log);
  const folders = new Map<string, FolderSync>();
  if (config.folders.length > 0 && folderIndex === null) {
    throw new Error('Synced folders need the SQLite metadata store (they stay on one machine).');
  }
  for (const spec of config.folders) {
    if (folderIndex === null) break;
    const folder = parseFolderSpec(spec);
    if (folders.has(folder.id))
      throw new Error(`Two folders are named "${folder.id}": use NAME=DIR.`);
    folders.set(
      folder.id,
      new FolderSync({
        config: folder,
        index: folderIndex,
        changes,
        selfId: identity.id,
        selfName: identity.name,
        sources: () => replicator?.candidates() ?? [],
        log,
        trashRetentionMs: config.trashRetentionDays * DAY_MS,
      }),
    );
  }
  changes.onRejected((rejected) => {
    log.warn({ rejected: rejected.slice(0, 10), count: rejected.length }, 'operations refused');
  });
  changes.onOps((ops) => {
    replicator?.onOps(ops);
    blobSync.handleOps(ops);
    live.onOps(ops);
    for (const op of ops) {
      if (op.body.kind === 'file.put' && op.origin !== identity.id) {
        folders.get(op.body.folder)?.onRemoteChange();
      }
    }
  });

  // Group photo events (two-phase commit between the sites; see docs/events.md).
  const events = await createEvents({
    db: requireLocal(store).database,
    dataDir: config.dataDir,
    photos: stores.eventPhotos,
    log,
    faults,
    agent,
    clusterKey: config.clusterKey ?? null,
    decodes,
    self: () => ({ id: identity.id, name: identity.name, url: selfUrl ?? '' }),
    members: () =>
      (replicator?.members() ?? []).map((p) => ({
        url: p.url,
        site: p.id !== null && p.name !== null ? { id: p.id, name: p.name, url: p.url } : null,
      })),
  });

  const access = new FolderAccess(config.folderUsers);
  const uploads = folderIndex === null ? null : new UploadStore(folderIndex, faults);
  const devices = new DeviceService({
    oplog,
    changes,
    devices: state.devices,
    access,
    uploads,
    folder: (id) => folders.get(id),
    isNode: async (id) => id === identity.id || (await peers.has(id)),
    nodeName: identity.name,
  });
  await devices.announceLegacyDevices();

  const metrics = createMetrics(() => pictureRepo.totals());
  const peerStatus = () => replicator?.status() ?? Promise.resolve([]);
  registerPeerMetrics(metrics.registry, peerStatus);
  registerFolderMetrics(metrics.registry, () => [...folders.values()]);
  events.registerMetrics(metrics.registry);
  const app = await buildApp({
    log,
    info: { nodeId: identity.id, nodeName: identity.name, version: VERSION },
    cookieSecret: identity.cookieSecret,
    trustProxy: config.trustProxy,
    metricsToken: config.metricsToken ?? null,
    maxUploadBytes: config.maxUploadBytes,
    accounts,
    loginLimiter,
    pictures,
    blobs,
    thumbs,
    metrics,
    folders: (principal) =>
      [...folders.values()].filter((f) => access.canUse(principal, f.id)).map((f) => f.status()),
    devices: { devices, faults },
    live,
    webRoot: defaultWebRoot(),
    cluster: {
      self: () => ({ id: identity.id, name: identity.name, url: selfUrl }),
      peers: peerStatus,
    },
    peer:
      replicator === null || config.clusterKey === undefined
        ? null
        : {
            verifier: new PeerVerifier(config.clusterKey, identity.id),
            self: () => ({
              nodeId: identity.id,
              name: identity.name,
              url: selfUrl,
              version: VERSION,
            }),
            oplog,
            changes,
            blobs,
            faults,
            pendingBlobBytes: () => blobSync.pendingBytes(),
            folderContent: (folder, hash) =>
              folders.get(folder)?.contentFor(hash) ?? Promise.resolve(null),
            folderSmallContent: (folder, hash) =>
              folders.get(folder)?.smallContentFor(hash) ?? Promise.resolve(null),
            folderBlocks: (folder, hash) => folders.get(folder)?.blocksFor(hash) ?? null,
            contacted: (nodeId, url) => {
              replicator.noteInbound(nodeId, url);
            },
          },
    events: {
      api: { events: events.service, photos: events.photos, maxUploadBytes: config.maxUploadBytes },
      peer:
        config.clusterKey === undefined
          ? null
          : {
              verifier: new PeerVerifier(config.clusterKey, identity.id),
              faults,
              events: events.service,
              participant: events.participant,
              photos: events.photos,
            },
    },
  });

  const retentionMs = config.trashRetentionDays * DAY_MS;
  const sweep = async () => {
    const removed = await blobs.sweepTrash(retentionMs);
    // Device uploads nobody claimed (abandoned parts included) go after the same retention.
    for (const folder of folders.values()) {
      await uploads?.sweep(folder.id, folder.root, retentionMs);
    }
    if (removed.length > 0) log.info({ removed: removed.length }, 'trash swept');
    await accountRepo.deleteExpiredSessions(Date.now());
    loginLimiter.sweep();
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
  // A wildcard address is no use to peers: without --advertise-url they learn us by discovery.
  selfUrl = config.advertiseUrl ?? (/:\/\/(0\.0\.0\.0|\[::\])/.test(url) ? null : url);
  log.info({ url, id: identity.id, version: VERSION }, 'node listening');
  await replicator?.start(selfUrl, config.peers);
  await blobSync.scanMissing();
  events.start();
  for (const folder of folders.values()) await folder.start();

  const discovery =
    replicator !== null && config.clusterKey !== undefined && config.discovery === 'on'
      ? await startDiscovery({
          clusterKey: config.clusterKey,
          nodeId: identity.id,
          httpPort: (app.server.address() as AddressInfo).port,
          discoveryPort: config.discoveryPort,
          targets: defaultTargets(config.host),
          log,
          onPeer: ({ url: peerUrl }) => {
            replicator.addPeer(peerUrl, 'discovered');
          },
        })
      : null;
  if (replicator === null) {
    log.info('standalone node: no cluster key, so no replication and no discovery');
  }

  return {
    identity,
    url,
    app,
    store,
    async close() {
      clearInterval(sweeper);
      loginFanout?.stop();
      await blobSync.stop();
      devices.close();
      await Promise.all([...folders.values()].map((f) => f.close()));
      await discovery?.close();
      await replicator?.stop();
      await events.stop();
      await app.close();
      await agent.close();
      await stores.close();
      await store.close();
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

/** The SQLite connection of a store that must be SQLite for now (events, until converted). */
function requireLocal(store: MetadataStore) {
  if (store.local === null) throw new Error('This part of Mosaic needs the SQLite metadata store.');
  return store.local;
}
