/**
 * The once-per-site work of a node (see site-lead.ts): replication with the peers, discovery,
 * checking the pictures' byte flags and fetching bytes missing since the last run, and the
 * hourly sweep of the trash and of expired sessions. `lead` starts it in the process that leads the site; `follow` stops it there.
 */
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import type { NodeConfig } from '../config/node-config.js';
import { defaultTargets, startDiscovery } from '../discovery/discovery.js';
import type { BlobSync } from '../replication/blob-sync.js';
import type { Replicator } from '../replication/replicator.js';
import type { LeadWork } from './site-lead.js';

const TRASH_SWEEP_INTERVAL_MS = 3600 * 1000;
/** How soon a byte check that met an outage (the store or database out of reach) runs again. */
const BYTE_CHECK_RETRY_MS = 5000;

export interface SiteWorkDeps {
  /**
   * Checks every picture's byte flag against the store (null: done before, at start). Tried
   * again every `byteCheckRetryMs` (default 5 s) while it fails and the process leads: a lead
   * taken while the store was down used to leave bytes lost meanwhile unnoticed until read.
   */
  readonly repairBytes: (() => Promise<void>) | null;
  readonly byteCheckRetryMs?: number;
  readonly replicator: Replicator | null;
  readonly blobSync: BlobSync;
  readonly blobs: BlobStore;
  readonly retentionMs: number;
  /** The blobs the trash sweep removed for good. */
  readonly onSwept: (removed: readonly string[]) => Promise<void>;
  /** Sweeps besides the blob trash (device uploads, sessions, sign-in back-off). */
  readonly sweepMore: () => Promise<void>;
  readonly log: Logger;
  readonly config: Pick<
    NodeConfig,
    'peers' | 'clusterKey' | 'discovery' | 'discoveryPort' | 'host'
  >;
  readonly nodeId: string;
  /** Known once the server listens. */
  readonly selfUrl: () => string | null;
  readonly httpPort: () => number;
}

export function siteWork(deps: SiteWorkDeps): LeadWork {
  const { replicator, blobSync, log } = deps;
  let sweeper: NodeJS.Timeout | undefined;
  let discovery: { close(): Promise<void> } | null = null;
  let leading = false;
  let byteRetry: NodeJS.Timeout | undefined;
  const checkBytes = async (): Promise<void> => {
    try {
      await deps.repairBytes?.();
    } catch (err) {
      log.error({ err }, 'byte flags not checked; trying again shortly');
      if (!leading) return;
      byteRetry = setTimeout(() => void checkBytes(), deps.byteCheckRetryMs ?? BYTE_CHECK_RETRY_MS);
      byteRetry.unref();
    }
  };
  const sweep = async () => {
    const removed = await deps.blobs.sweepTrash(deps.retentionMs);
    await deps.onSwept(removed);
    if (removed.length > 0) log.info({ removed: removed.length }, 'trash swept');
    await deps.sweepMore();
  };
  return {
    async lead() {
      leading = true;
      await checkBytes();
      await sweep().catch((err: unknown) => {
        log.error({ err }, 'trash sweep failed');
      });
      sweeper = setInterval(() => {
        sweep().catch((err: unknown) => {
          log.error({ err }, 'trash sweep failed');
        });
      }, TRASH_SWEEP_INTERVAL_MS);
      sweeper.unref();
      const { config } = deps;
      await replicator?.start(deps.selfUrl(), config.peers);
      await blobSync.scanMissing();
      if (replicator !== null && config.clusterKey !== undefined && config.discovery === 'on') {
        discovery = await startDiscovery({
          clusterKey: config.clusterKey,
          nodeId: deps.nodeId,
          httpPort: deps.httpPort(),
          discoveryPort: config.discoveryPort,
          targets: defaultTargets(config.host),
          log,
          onPeer: ({ url }) => {
            replicator.addPeer(url, 'discovered');
          },
        });
      }
    },
    async follow() {
      leading = false;
      clearTimeout(byteRetry);
      clearInterval(sweeper);
      await discovery?.close();
      discovery = null;
      await replicator?.stop();
    },
  };
}
