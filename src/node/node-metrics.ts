/**
 * What a node tells its operators, for the composition root (node.ts): the gauges of
 * `/metrics` beyond the HTTP ones (peers, folders, events, database pool and lease) and the
 * probes of `/healthz` (the database and both blob stores).
 */
import type { Registry } from 'prom-client';
import type { BlobReadCounts, BlobStore } from '../blobs/blob-store.js';
import type { BlobStores } from '../blobs/open-blob-stores.js';
import type { FolderSync } from '../folders/folder-sync.js';
import {
  registerFolderMetrics,
  registerPeerMetrics,
  registerStorageMetrics,
  type Metrics,
} from '../http/metrics.js';
import type { PeerStatus } from '../replication/replicator.js';
import { healthCheck, type HealthCheck } from '../storage/health.js';
import { databaseProbe } from '../storage/metadata/health.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { LEAD_LEASE } from './site-lead.js';
import type { Site } from './site.js';

export interface ObservedParts {
  readonly peers: () => Promise<PeerStatus[]>;
  readonly folders: ReadonlyMap<string, FolderSync>;
  readonly events: { registerMetrics(registry: Registry): void };
  readonly store: MetadataStore;
  readonly site: Site;
  readonly stores: BlobStores;
}

/** The picture store's read counts (an object it updates in place) when it has a cache (S3). */
function blobReadCounts(store: BlobStore): (() => BlobReadCounts) | undefined {
  const { reads } = store;
  return reads === undefined ? undefined : () => reads;
}

/** Registers the node's gauges on `metrics` and returns its health check. */
export function observeNode(metrics: Metrics, parts: ObservedParts): HealthCheck {
  const { store, site, stores } = parts;
  registerPeerMetrics(metrics.registry, parts.peers);
  registerFolderMetrics(metrics.registry, () => [...parts.folders.values()]);
  parts.events.registerMetrics(metrics.registry);
  registerStorageMetrics(metrics.registry, {
    pool: store.pool,
    leases: () => (site.shared ? [{ name: LEAD_LEASE, token: site.lead.token() }] : []),
    blobReads: blobReadCounts(stores.pictures),
  });
  return healthCheck({
    database: databaseProbe(store),
    blobs: async (signal) => {
      await Promise.all([stores.pictures.probe(signal), stores.eventPhotos.probe(signal)]);
    },
  });
}
