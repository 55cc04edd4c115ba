/**
 * A node's link to its peers: the Replicator (push and anti-entropy pull of the op log, only
 * with a cluster key, which authenticates every peer request) and BlobSync (the bytes of
 * pictures whose operations arrived without them). Wired here for the composition root.
 */
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import type { NodeConfig } from '../config/node-config.js';
import type { Faults } from '../faults/faults.js';
import type { Agent } from '../http/undici-client.js';
import type { ReplicaState } from '../oplog/replica-state.js';
import type { PictureFactsService } from '../pictures/picture-facts.service.js';
import type { PictureService } from '../pictures/picture.service.js';
import { BlobSync } from '../replication/blob-sync.js';
import type { PeerRepository } from '../replication/peer.repository.js';
import { Replicator } from '../replication/replicator.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { NodeIdentity } from './identity.js';

export interface ReplicationDeps {
  readonly config: NodeConfig;
  readonly store: MetadataStore;
  readonly state: ReplicaState;
  readonly identity: NodeIdentity;
  readonly peers: PeerRepository;
  readonly pictures: PictureService;
  readonly blobs: BlobStore;
  readonly faults: Faults;
  readonly agent: Agent;
  readonly log: Logger;
  /** Photo facts of fetched pictures, read from their bytes and recorded as they become visible. */
  readonly facts: PictureFactsService;
  /** A replicated picture's bytes arrived, and its facts are recorded: it may be shown now. */
  readonly onVisible: (id: string) => void;
  /**
   * A peer answers again (first contact, or back after being down): what waited for it, besides
   * the pictures' missing bytes (BlobSync, here), may go on now (synced folders' stalled files).
   */
  readonly onPeerUp: () => void;
}

export interface Replication {
  /** Null on a standalone node (no cluster key). */
  readonly replicator: Replicator | null;
  readonly blobSync: BlobSync;
}

export function openReplication(deps: ReplicationDeps): Replication {
  const { config, identity, log } = deps;
  if (config.peers.length > 0 && config.clusterKey === undefined) {
    throw new Error(
      'Peers need a cluster key: give --cluster-key or MOSAIC_CLUSTER_KEY (the same on every node).',
    );
  }
  let replicator: Replicator | null = null;
  const blobSync = new BlobSync({
    store: deps.store,
    pictures: deps.state.pictures,
    service: deps.pictures,
    blobs: deps.blobs,
    sources: () => replicator?.candidates() ?? [],
    log,
    selfId: identity.id,
    // Visible only now: its facts are read from the bytes that just arrived (already recorded
    // with it when it came in a batch), then the web app is told.
    onVisible: (id, factsSaved) => {
      void (async () => {
        if (factsSaved) return;
        const stored = (await deps.state.pictures.get(id))?.state.info;
        if (stored) await deps.facts.deriveStored({ id, contentType: stored.contentType });
      })()
        .catch((err: unknown) => {
          log.warn({ err, picture: id }, 'photo facts not derived');
        })
        .finally(() => {
          deps.onVisible(id);
        });
    },
    facts: deps.facts,
  });
  if (config.clusterKey !== undefined) {
    replicator = new Replicator({
      selfId: identity.id,
      selfName: identity.name,
      key: config.clusterKey,
      oplog: deps.state.oplog,
      changes: deps.state.changes,
      peers: deps.peers,
      faults: deps.faults,
      agent: deps.agent,
      log,
      syncIntervalMs: config.syncIntervalMs,
      onPeerUp: () => {
        blobSync.scanMissing().catch((err: unknown) => {
          log.warn({ err }, 'could not list the pictures whose bytes are missing');
        });
        deps.onPeerUp();
      },
    });
  }
  return { replicator, blobSync };
}
