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
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { AccountService } from '../accounts/account.service.js';
import { LoginLimiter } from '../accounts/login-limiter.js';
import { LoginFanout } from '../replication/login-fanout.js';
import { openBlobStores } from '../blobs/open-blob-stores.js';
import type { NodeConfig } from '../config/node-config.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { SiteIdentityRepository } from '../storage/metadata/site-identity.repository.js';
import { openReplicaState } from '../oplog/replica-state.js';
import { buildApp } from '../http/app.js';
import { LiveFeed } from '../http/live-feed.js';
import { defaultWebRoot } from '../http/web.js';
import { createMetrics } from '../http/metrics.js';
import { Faults } from '../faults/faults.js';
import type { BlobSync } from '../replication/blob-sync.js';
import type { FolderSync } from '../folders/folder-sync.js';
import { PeerVerifier } from '../replication/peer-auth.js';
import { PeerRepository } from '../replication/peer.repository.js';
import { Agent } from '../http/undici-client.js';
import type { AddressInfo } from 'node:net';
import { connectSite, openSite, openSiteStore } from './site.js';
import { openDevices, openFolders, openTus, peerServing, seedAdmin } from './node-parts.js';
import { observeNode } from './node-metrics.js';
import { routeCommittedOps } from './op-listeners.js';
import { siteWork } from './site-work.js';
import { KnownPeers, configuredPeers, mergeMembers } from '../replication/known-peers.js';
import { ClusterStatusBoard } from '../replication/cluster-status-board.js';
import { MetaRepository } from '../storage/metadata/meta.repository.js';
import { newDecodeLimiter } from '../pictures/images.js';
import { openLibrary } from './library-parts.js';
import { openReplication } from './replication-parts.js';
import { VERSION } from '../version.js';
import { createEvents } from '../events/index.js';
import type { NodeIdentity } from './identity.js';
import { closeNode } from './node-close.js';
import { holdOwnChanges } from './start-hold.js';
import { listenError, openDataDir } from './data-dir.js';

const DAY_MS = 24 * 3600 * 1000;
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
  const dataDir = await openDataDir(config.dataDir, config.database === undefined);
  const store = await openSiteStore(config, (err) => {
    options.log?.warn({ err }, 'database connection lost');
  });
  const identity = await new SiteIdentityRepository(store).load(config.name);
  const log = (options.log ?? pino({ level: config.logLevel })).child({ node: identity.name });
  if (dataDir.tightened.length > 0) {
    log.warn({ files: dataDir.tightened }, 'database files were readable by others: now 0600');
  }
  // The processes of a site on PostgreSQL tell each other what they commit, and elect the one
  // that does the site's once-only work (site.ts).
  const site = await openSite(config, store, log);
  const { bus, lead, shared } = site;

  const stores = await openBlobStores(config);
  const blobs = stores.pictures;
  // One gate for every image decode of this node: thumbnails and event montages (sharp itself
  // is loaded at the first decode: pictures/sharp-lib.ts).
  const decodes = newDecodeLimiter();
  // Blobs an upload in this process has just committed: what apply needs to know, synchronously
  // and without asking the store, while it commits that upload's operation.
  const justStored = new Set<string>();

  const state = openReplicaState(store, identity.id, { hasBlob: (id) => justStored.has(id) });
  const { changes, oplog, folders: folderIndex } = state;
  const pictureRepo = state.pictures;
  const peers = new PeerRepository(store);
  const loginLimiter = new LoginLimiter();
  const accounts = new AccountService(
    state.accounts,
    state.credentials,
    changes,
    Date.now,
    loginLimiter,
  );
  // BlobSync (below) restores or fetches bytes the file route finds missing.
  let blobSyncRef: BlobSync | null = null;
  let foldersRef: ReadonlyMap<string, FolderSync> = new Map();
  const { thumbs, facts, pictures, albums, shares, trash } = openLibrary({
    store,
    state,
    blobs,
    decodes,
    nodeName: identity.name,
    trashRetentionMs: config.trashRetentionDays * DAY_MS,
    justStored,
    repairBytes: (id) => {
      blobSyncRef?.schedule(id);
    },
    log,
  });

  // A new site's admin account: decided before the node listens (a bad MOSAIC_ADMIN_PASSWORD
  // fails the start); its password hash (scrypt, ~0.25 s of a pool thread) is made while the
  // rest starts and after it listens (sign-ins wait for it), and the start fails if it fails.
  const adminSeed = seedAdmin(
    accounts,
    config,
    options.announce ?? ((line) => process.stdout.write(`${line}\n`)),
  );
  adminSeed.catch(() => undefined); // awaited below: not an unhandled rejection meanwhile
  const adminSeeded = adminSeed.then((seed) => seed.created);
  adminSeeded.catch(() => undefined); // awaited at the end of the start
  // Rows whose has_blob disagrees with the store (a crash between a move and its record): a
  // one-process site checks before it serves; a shared site once, in the process that leads it
  // (a listing of the whole bucket at every process's start would be paid N times).
  const repairBytes = () => pictures.repairAllBytes().then(() => undefined);
  if (!shared) await repairBytes();

  const faults = Faults.fromEnv(process.env);
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 32 });
  let selfUrl: string | null = null;
  const live = new LiveFeed({
    albumsHolding: (ids) => state.albums.holding(ids),
    onError: (err) => {
      log.warn({ err }, 'could not tell which albums hold changed pictures');
    },
  });
  // Replication: only with a cluster key, which authenticates every peer request.
  const { replicator, blobSync } = openReplication({
    config,
    store,
    state,
    identity,
    peers,
    pictures,
    blobs,
    faults,
    agent,
    log,
    facts,
    onVisible: (id) => {
      void live.pictures([id]);
      teller.visible(id);
    },
    // Files a folder's pull could not bring while the peers that hold them were away are
    // stalled with a back-off of up to a minute: asked for again as soon as a peer is back.
    onPeerUp: () => {
      for (const folder of foldersRef.values()) folder.onPeerUp();
    },
  });
  blobSyncRef = blobSync;
  // Sign-in back-off is cluster-wide: outcomes go to every peer that is up.
  const loginFanout =
    replicator === null ? null : new LoginFanout(loginLimiter, () => replicator.reachable(), log);
  const folders = openFolders(config, {
    index: folderIndex,
    changes,
    identity,
    sources: () => replicator?.candidates() ?? [],
    nodeNames: () =>
      new Set([identity.name, ...(replicator?.members() ?? []).flatMap((m) => m.name ?? [])]),
    goneAuthors: (folder) => state.devices.goneNames(folder),
    log,
  });
  foldersRef = folders;
  const teller = connectSite(site, {
    oplog,
    live,
    loginLimiter,
    log,
    onLeaderOps: (ops) => {
      replicator?.onOps(ops);
      blobSync.handleOps(ops);
    },
  });
  routeCommittedOps(changes, {
    selfId: identity.id,
    teller,
    replicator,
    blobSync,
    trash,
    live,
    folders,
    log,
  });

  // The peers as this process knows them: the leader's links once they run (else the configured
  // peers), and the peers table (the leader writes it; read every 2 s), merged (mergeMembers).
  const known = new KnownPeers(peers, log);
  await known.start();

  // Group photo events (two-phase commit between the sites; see docs/events.md).
  const events = await createEvents({
    store,
    dataDir: config.dataDir,
    photos: stores.eventPhotos,
    log,
    faults,
    agent,
    clusterKey: config.clusterKey ?? null,
    decodes,
    self: () => ({ id: identity.id, name: identity.name, url: selfUrl ?? '' }),
    members: () => {
      const links =
        lead.leads() && replicator?.started === true
          ? replicator.members()
          : configuredPeers(config.peers, selfUrl);
      return mergeMembers(links, known.members()).map((p) => ({
        url: p.url,
        site: p.id !== null && p.name !== null ? { id: p.id, name: p.name, url: p.url } : null,
      }));
    },
    isLeader: () => lead.leads(),
  });

  const { devices, access, uploads } = await openDevices(config, {
    state,
    faults,
    folders,
    isNode: async (id) => id === identity.id || (await peers.has(id)),
    nodeName: identity.name,
    adminSeeded,
    log,
  });

  const metrics = createMetrics(() => pictureRepo.totals());
  const tus = openTus(config, { store, shared, blobs, pictures, metrics, log, faults });
  // Every process answers /api/cluster: the leader from its links, the others from the
  // snapshot it publishes (cluster-status-board.ts).
  const board = new ClusterStatusBoard({
    meta: new MetaRepository(store),
    status: replicator === null ? null : () => replicator.status(),
    leads: () => lead.leads(),
    log,
  });
  if (shared) board.start();
  const peerStatus = () => board.peers();
  const health = observeNode(metrics, {
    peers: peerStatus,
    folders,
    events,
    store,
    site,
    stores,
  });
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
    facts,
    tus,
    blobs,
    thumbs,
    metrics,
    health,
    folders: (principal) =>
      [...folders.values()].filter((f) => access.canUse(principal, f.id)).map((f) => f.status()),
    devices: { devices, faults },
    live,
    library: { albums, shares, trash, trashRetentionMs: config.trashRetentionDays * DAY_MS },
    webRoot: defaultWebRoot(),
    cluster: {
      self: () => ({ id: identity.id, name: identity.name, url: selfUrl }),
      peers: peerStatus,
    },
    peer: peerServing(config, {
      identity,
      selfUrl: () => selfUrl,
      replicator,
      oplog,
      changes,
      blobs,
      faults,
      blobSync,
      folders,
    }),
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

  await adminSeed;
  const hold = holdOwnChanges(changes, replicator, log);
  const address = await app.listen({ port: config.port, host: config.host }).catch(listenError);
  const url = address.replace('://[::1]', '://localhost');
  // A wildcard address is no use to peers: without --advertise-url they learn us by discovery.
  selfUrl = config.advertiseUrl ?? (/:\/\/(0\.0\.0\.0|\[::\])/.test(url) ? null : url);
  log.info({ url, id: identity.id, version: VERSION }, 'node listening');
  if (replicator === null) {
    log.info('standalone node: no cluster key, so no replication and no discovery');
  }
  const retentionMs = config.trashRetentionDays * DAY_MS;
  await lead.start(
    siteWork({
      repairBytes: shared ? repairBytes : null,
      replicator,
      blobSync,
      blobs,
      retentionMs,
      log,
      config,
      nodeId: identity.id,
      selfUrl: () => selfUrl,
      httpPort: () => (app.server.address() as AddressInfo).port,
      // Their small thumbnails stayed for the trash page.
      onSwept: async (removed) => {
        for (const id of removed) await thumbs.remove(id);
      },
      sweepMore: async () => {
        // Device uploads nobody claimed (abandoned parts included) go after the same retention.
        for (const folder of folders.values()) {
          await uploads?.sweep(folder.id, folder.root, retentionMs);
        }
        await state.credentials.deleteExpiredSessions(Date.now());
        const abandoned = await tus.sweep();
        if (abandoned > 0) log.info({ abandoned }, 'unfinished resumable uploads removed');
      },
    }),
  );
  hold.afterLead(lead.leads());
  // Sign-in back-off is per process (each answers its own sign-ins); swept here.
  const limiterSweep = setInterval(() => {
    loginLimiter.sweep();
  }, 60_000);
  limiterSweep.unref();
  // Pictures stored before this node read photo facts (or by an older reader): derived by the
  // process that leads the site at start (idempotent and resumable: another one's restart
  // goes on where the rows say).
  if (lead.leads()) void facts.startBackfill();
  events.start();
  for (const folder of folders.values()) await folder.start();
  await adminSeeded;

  return {
    identity,
    url,
    app,
    store,
    close: () =>
      closeNode({
        work: async () => {
          clearInterval(limiterSweep);
          loginFanout?.stop();
          known.stop();
          board.stop();
          await lead.close();
          await blobSync.stop();
          await facts.stop();
          devices.close();
          await Promise.all([...folders.values()].map((f) => f.close()));
          await events.stop();
          await bus.close();
        },
        app,
        agent,
        stores: async () => {
          await stores.close();
          await thumbs.close();
          await store.close();
          dataDir.release();
        },
      }),
  };
}
