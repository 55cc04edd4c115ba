/**
 * What `/api/cluster` (and the peer gauges of `/metrics`) say about the peers in every process
 * of a site, not only in the one that leads it.
 *
 * Only the leading process keeps links to the peers (node/site-lead.ts), so only it knows their
 * state, last contact and lag. It writes that snapshot to the site's `meta` table every
 * `intervalMs`; the other processes answer from the latest snapshot. A snapshot older than
 * `staleMs` (the leader died and no other process leads yet) is shown with every peer's state
 * `unknown` and an error saying since when the site has not heard from its leader.
 */
import type { Logger } from 'pino';
import type { MetaRepository } from '../storage/metadata/meta.repository.js';
import type { PeerStatus } from './replicator.js';

export const CLUSTER_STATUS_KEY = 'cluster-status';
const INTERVAL_MS = 2000;

interface Snapshot {
  readonly at: number;
  readonly peers: PeerStatus[];
}

export interface ClusterStatusBoardDeps {
  readonly meta: MetaRepository;
  /** The leader's own view (null when this node has no cluster key). */
  readonly status: (() => Promise<PeerStatus[]>) | null;
  readonly leads: () => boolean;
  readonly log: Logger;
  readonly now?: () => number;
  readonly intervalMs?: number;
  /** Older than this, a snapshot is shown as unknown (default: 3 intervals). */
  readonly staleMs?: number;
}

export class ClusterStatusBoard {
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly staleMs: number;

  constructor(private readonly deps: ClusterStatusBoardDeps) {
    this.now = deps.now ?? Date.now;
    this.intervalMs = deps.intervalMs ?? INTERVAL_MS;
    this.staleMs = deps.staleMs ?? 3 * this.intervalMs;
  }

  /** Starts publishing whenever this process leads. */
  start(): void {
    this.timer = setInterval(() => {
      this.publish().catch((err: unknown) => {
        this.deps.log.warn({ err }, 'could not publish the peers status');
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Writes the leader's view (a no-op in a process that does not lead). */
  async publish(): Promise<void> {
    if (!this.deps.leads() || this.deps.status === null) return;
    const snapshot: Snapshot = { at: this.now(), peers: await this.deps.status() };
    await this.deps.meta.set(CLUSTER_STATUS_KEY, JSON.stringify(snapshot));
  }

  /** The peers' status: the leader's own, or its latest snapshot elsewhere. */
  async peers(): Promise<PeerStatus[]> {
    if (this.deps.status === null) return [];
    if (this.deps.leads()) return this.deps.status();
    const snapshot = parse(await this.deps.meta.get(CLUSTER_STATUS_KEY));
    if (snapshot === null) return [];
    const age = this.now() - snapshot.at;
    if (age <= this.staleMs) return snapshot.peers;
    const since = new Date(snapshot.at).toISOString();
    return snapshot.peers.map((p) => ({
      ...p,
      state: 'unknown' as const,
      error: `no news from the process leading this site since ${since}`,
    }));
  }
}

function parse(raw: string | null): Snapshot | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<Snapshot>;
    if (typeof value.at !== 'number' || !Array.isArray(value.peers)) return null;
    return { at: value.at, peers: value.peers };
  } catch {
    return null;
  }
}
