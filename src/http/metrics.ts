/**
 * Prometheus metrics. One registry per node instance (no global state), exported at /metrics.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BlobReadCounts } from '../blobs/blob-store.js';
import type { PeerStatus } from '../replication/replicator.js';
import type { PoolFigures } from '../storage/metadata/dialect.js';

export interface Metrics {
  readonly registry: Registry;
  readonly uploads: Counter<'result'>;
  readonly uploadBytes: Counter;
}

export function createMetrics(totals: () => Promise<{ count: number; bytes: number }>): Metrics {
  const registry = new Registry();
  // The event-loop delay histogram samples every 100 ms, not prom-client's 10: its timer woke
  // an idle node 200 times a second (idle CPU 8-12 ms a second, 4-5 at 100 ms: docs/
  // benchmarks.md, "an idle node's wake-ups"). A stall of the loop still shows in the maximum
  // and the percentiles.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  new Gauge({
    name: 'mosaic_pictures',
    help: 'Visible pictures at this node',
    registers: [registry],
    async collect() {
      this.set((await totals()).count);
    },
  });
  new Gauge({
    name: 'mosaic_stored_bytes',
    help: 'Bytes of visible pictures stored at this node',
    registers: [registry],
    async collect() {
      this.set((await totals()).bytes);
    },
  });
  return {
    registry,
    uploads: new Counter({
      name: 'mosaic_uploads_total',
      help: 'Picture uploads by result (created, duplicate, rejected)',
      labelNames: ['result'],
      registers: [registry],
    }),
    uploadBytes: new Counter({
      name: 'mosaic_upload_bytes_total',
      help: 'Bytes received in accepted uploads',
      registers: [registry],
    }),
  };
}

/** Replication state per peer, read from the replicator at scrape time. */
export function registerPeerMetrics(registry: Registry, peers: () => Promise<PeerStatus[]>): void {
  const labelNames = ['peer'] as const;
  const each = async (gauge: Gauge<'peer'>, value: (p: PeerStatus) => number) => {
    const all = await peers();
    gauge.reset();
    for (const p of all) gauge.set({ peer: p.name ?? p.url }, value(p));
  };
  new Gauge({
    name: 'mosaic_peer_up',
    help: 'Whether the peer answers (1) or not (0)',
    labelNames,
    registers: [registry],
    collect() {
      return each(this, (p) => (p.state === 'up' ? 1 : 0));
    },
  });
  new Gauge({
    name: 'mosaic_peer_last_seen_seconds',
    help: 'Unix time of the last successful exchange with the peer',
    labelNames,
    registers: [registry],
    collect() {
      return each(this, (p) => (p.lastSeen === null ? 0 : Date.parse(p.lastSeen) / 1000));
    },
  });
  new Gauge({
    name: 'mosaic_peer_lag_ops',
    help: 'Operations this node has that the peer lacks',
    labelNames,
    registers: [registry],
    collect() {
      return each(this, (p) => p.lag.ops);
    },
  });
  new Gauge({
    name: 'mosaic_peer_lag_bytes',
    help: 'Bytes of pictures the peer still has to fetch',
    labelNames,
    registers: [registry],
    collect() {
      return each(this, (p) => p.lag.bytes);
    },
  });
}

export interface FolderMetricsSource {
  readonly id: string;
  status(): { state: string; files: number; bytes: number; needFiles: number; conflicts: number };
  readonly counters: {
    fetchedBytes: number;
    fetchedFiles: number;
    localCopies: number;
    localMoves: number;
  };
}

/** Synced folders: state and transfer counters, read at scrape time. */
export function registerFolderMetrics(
  registry: Registry,
  folders: () => readonly FolderMetricsSource[],
): void {
  const gauge = (name: string, help: string, value: (f: FolderMetricsSource) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['folder'],
      registers: [registry],
      collect() {
        this.reset();
        for (const f of folders()) this.set({ folder: f.id }, value(f));
      },
    });
  gauge('mosaic_folder_files', 'Files in the folder', (f) => f.status().files);
  gauge('mosaic_folder_bytes', 'Bytes of the files in the folder', (f) => f.status().bytes);
  gauge(
    'mosaic_folder_need_files',
    'Items whose current version is not on disk here yet',
    (f) => f.status().needFiles,
  );
  gauge('mosaic_folder_conflicts', 'Conflict copies in the folder', (f) => f.status().conflicts);
  gauge('mosaic_folder_paused', 'Whether the folder is paused (root or marker missing)', (f) =>
    f.status().state === 'paused' ? 1 : 0,
  );
  gauge(
    'mosaic_folder_fetched_bytes_total',
    'Bytes fetched from peers since start',
    (f) => f.counters.fetchedBytes,
  );
  gauge(
    'mosaic_folder_local_copies_total',
    'Files copied from elsewhere on this disk (same content) instead of fetched',
    (f) => f.counters.localCopies,
  );
  gauge(
    'mosaic_folder_local_moves_total',
    'Files moved here from a path being deleted (a rename or move at a peer) instead of fetched',
    (f) => f.counters.localMoves,
  );
}

/** Counts and times every request by route pattern (not raw URL, to bound label values). */
export function installRequestMetrics(app: FastifyInstance, registry: Registry): void {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}

/** A once-per-site lease as this process sees it: its fencing token while held, else null. */
export interface LeaseFigure {
  readonly name: string;
  readonly token: number | null;
}

/**
 * The metadata store's connection pool (PostgreSQL) and the once-per-site leases, read at
 * scrape time. Without a pool (SQLite) the pool gauges are not registered.
 */
export function registerStorageMetrics(
  registry: Registry,
  sources: {
    readonly pool?: (() => PoolFigures) | undefined;
    readonly leases: () => readonly LeaseFigure[];
    /** Picture reads by where their bytes came from (an S3 store and its local cache). */
    readonly blobReads?: (() => BlobReadCounts) | undefined;
  },
): void {
  const { pool, blobReads } = sources;
  if (blobReads !== undefined) {
    new Counter({
      name: 'mosaic_blob_reads_total',
      help: "Picture blob reads by source: this process's local cache, or a GET to the store",
      labelNames: ['source'],
      registers: [registry],
      collect() {
        const figures = blobReads();
        this.reset();
        this.inc({ source: 'cache' }, figures.cache);
        this.inc({ source: 'store' }, figures.store);
      },
    });
    new Counter({
      name: 'mosaic_blob_read_joins_total',
      help: 'Picture blob reads that waited for another read of the same blob to fill the cache',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(blobReads().joined);
      },
    });
  }
  if (pool !== undefined) {
    const gauge = (name: string, help: string, value: (p: PoolFigures) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value(pool()));
        },
      });
    gauge('mosaic_db_pool_connections', 'Database connections open (busy or idle)', (p) => p.total);
    gauge('mosaic_db_pool_idle', 'Database connections open and idle', (p) => p.idle);
    gauge('mosaic_db_pool_waiting', 'Queries waiting for a database connection', (p) => p.waiting);
  }
  const lease = (name: string, help: string, value: (l: LeaseFigure) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['lease'],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of sources.leases()) this.set({ lease: l.name }, value(l));
      },
    });
  lease(
    'mosaic_lease_held',
    'Whether this process holds the once-per-site lease (1) or not (0)',
    (l) => (l.token === null ? 0 : 1),
  );
  lease(
    'mosaic_lease_token',
    'Fencing token of the lease while this process holds it, else 0',
    (l) => l.token ?? 0,
  );
}
