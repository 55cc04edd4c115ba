/**
 * What makes a node one process of a site: its metadata store (the SQLite file under --data,
 * or the site's PostgreSQL), how the site's processes hear each other's commits (site bus),
 * and which of them does the once-per-site work (site lead). A site of one process (SQLite)
 * has nobody to tell and always leads.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LoginLimiter } from '../accounts/login-limiter.js';
import type { NodeConfig } from '../config/node-config.js';
import { openDatabase } from '../db/database.js';
import { albumIds, pictureIds, touchesAccess, type LiveFeed } from '../http/live-feed.js';
import type { Op } from '../oplog/op.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import {
  opRanges,
  PostgresSiteBus,
  soloBus,
  type SiteBus,
  type SiteMessage,
} from '../storage/metadata/site-bus.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import { openMetadataStore } from '../storage/metadata/store.js';
import { assertNoMigrationInProgress } from '../storage/migrate/target.js';
import { assertLeadersSettings, recordLeadSettings } from './site-settings.js';
import { LEAD_LEASE, leasedLead, soloLead, type SiteLead } from './site-lead.js';

export const FOLDERS_NEED_SQLITE =
  'Synced folders (--folder) stay on one machine: a site on PostgreSQL (--database) cannot ' +
  'have them. Sync folders through a node with its own SQLite (no --database) in the cluster.';

export interface Site {
  readonly store: MetadataStore;
  /** Several processes may share the store (PostgreSQL): the bus and the lease matter. */
  readonly shared: boolean;
  readonly bus: SiteBus;
  readonly lead: SiteLead;
}

export async function openSiteStore(
  config: NodeConfig,
  onPoolError: (err: Error) => void,
): Promise<MetadataStore> {
  if (config.database !== undefined && config.folders.length > 0) {
    throw new Error(FOLDERS_NEED_SQLITE);
  }
  if (config.database === undefined) {
    const file = join(config.dataDir, 'mosaic.db');
    try {
      return sqliteStoreOver(openDatabase(file));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new Error(`${file} is not a Mosaic database (${(error as Error).message}).`, {
          cause: error,
        });
      }
      throw error;
    }
  }
  const store = await openMetadataStore(config.database, { onPoolError });
  // A database that `mosaic migrate` has not finished filling is not a site yet.
  await assertNoMigrationInProgress(store).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  return store;
}

export async function openSite(
  config: NodeConfig,
  store: MetadataStore,
  log: Logger,
): Promise<Site> {
  const shared = config.database !== undefined && store.local === null;
  if (shared) await assertLeadersSettings(store, LEAD_LEASE, config);
  const bus = shared
    ? await PostgresSiteBus.open(config.database ?? '', (err) => {
        log.warn({ err }, 'site bus connection lost; reconnecting');
      })
    : soloBus;
  const lead = shared
    ? leasedLead(store, log, undefined, () => recordLeadSettings(store, config))
    : soloLead();
  return { store, shared, bus, lead };
}

export interface SiteListeners {
  readonly oplog: OpLogRepository;
  readonly live: LiveFeed;
  readonly loginLimiter: LoginLimiter;
  /** Operations another process committed, for the leader's once-per-site work. */
  readonly onLeaderOps: (ops: readonly Op[]) => void;
  readonly log: Logger;
}

/** What this process tells the site's other processes. */
export interface SiteTeller {
  committed(ops: readonly Op[]): void;
  visible(id: string): void;
}

/**
 * Connects this process to the others of its site: what they commit reaches this process's
 * live feed (and, when it leads, replication and byte fetching); sign-in outcomes count at
 * every process. Returns how to tell them what this process does.
 */
export function connectSite(site: Site, deps: SiteListeners): SiteTeller {
  const { bus, lead, shared } = site;
  const { live, log } = deps;
  const publish = (message: SiteMessage) => {
    if (!shared) return;
    bus.publish(message).catch((err: unknown) => {
      log.warn({ err }, 'could not tell the other processes of the site');
    });
  };
  if (shared) {
    deps.loginLimiter.onEvents((events) => {
      publish({ login: events });
    });
  }
  bus.subscribe((message) => {
    if (message.login) deps.loginLimiter.receive(message.login);
    if (message.access === true) live.accessChanged();
    const albums = message.albums ?? [];
    if (message.visible) void live.pictures(message.visible);
    if (message.changed) void live.pictures(message.changed, albums);
    if (albums.length > 0) live.publish({ type: 'albums', ids: albums });
    if (!message.ops) return;
    // Only the leader needs the operations themselves (to push them, to fetch their bytes),
    // and the live feed when the message does not name the pictures (an older process).
    const forLive = message.changed === undefined;
    if (!forLive && !lead.leads()) return;
    void Promise.all(
      message.ops.map((r) => deps.oplog.range(r.origin, r.from - 1, r.to - r.from + 1)),
    ).then(
      (batches) => {
        const ops = batches.flat();
        if (forLive) live.onOps(ops);
        if (lead.leads()) deps.onLeaderOps(ops);
      },
      (err: unknown) => {
        log.warn({ err }, 'could not read operations another process committed');
      },
    );
  });
  return {
    committed: (ops) => {
      const albums = albumIds(ops);
      publish({
        ops: opRanges(ops),
        changed: pictureIds(ops),
        ...(albums.length > 0 ? { albums } : {}),
        ...(touchesAccess(ops) ? { access: true } : {}),
      });
    },
    visible: (id) => {
      publish({ visible: [id] });
    },
  };
}
