/**
 * Replication between nodes: the set of peer links, pushes on every local change, periodic
 * anti-entropy pulls (from every peer, not only an operation's origin), and the cluster status.
 *
 * Delivery is at least once: the op log is the durable outbox, each link pushes from the
 * peer's own version vector (learned at every hello), and the receiver skips duplicates.
 */
import type { Logger } from 'pino';
import type { Agent } from '../http/undici-client.js';
import type { Faults } from '../faults/faults.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { Op } from '../oplog/op.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import { PeerClient } from './peer-client.js';
import { PeerLink, type LinkState } from './peer-link.js';
import type { PeerRepository, PeerSource } from './peer.repository.js';
import { missingFrom } from './version-vector.js';

/**
 * A peer that does not answer is retried with a back-off up to this (or the sync interval if
 * shorter), so one that starts or comes back is seen within about a second, not a cycle.
 */
const MAX_RETRY_MS = 1000;

export interface ReplicatorDeps {
  readonly selfId: string;
  readonly selfName: string;
  readonly key: string;
  readonly oplog: OpLogRepository;
  readonly changes: ChangeLog;
  readonly peers: PeerRepository;
  readonly faults: Faults;
  readonly agent: Agent;
  readonly log: Logger;
  readonly syncIntervalMs: number;
  /** A peer came up: missing blobs may now be fetchable. */
  readonly onPeerUp: () => void;
}

export interface PeerStatus {
  id: string | null;
  name: string | null;
  url: string;
  source: PeerSource;
  state: LinkState;
  lastSeen: string | null;
  error: string | null;
  lag: { ops: number; bytes: number };
}

export class Replicator {
  private readonly links = new Map<string, PeerLink>();
  private selfUrl: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Links exist only while running (in the process that leads the site: node/site-lead.ts). */
  private running = false;

  constructor(private readonly deps: ReplicatorDeps) {}

  /** Whether the links are up to date: started, and not stopped since. */
  get started(): boolean {
    return this.running;
  }

  /** Starts talking to peers: the static ones, and those remembered from earlier runs. */
  async start(selfUrl: string | null, staticPeers: readonly string[]): Promise<void> {
    this.selfUrl = selfUrl;
    this.running = true;
    for (const url of staticPeers) this.addPeer(url, 'static');
    for (const known of await this.deps.peers.all()) this.addPeer(known.url, known.source);
    this.timer = setInterval(() => {
      this.cycle();
    }, this.deps.syncIntervalMs);
    this.timer.unref();
    this.cycle();
  }

  /**
   * Resolves once every peer known at start has answered its first hello or failed to, or
   * after `boundMs`: whether any said how far our own past went (a node restored from an
   * older copy learns it there, `OwnPast`). True when they all did within the bound.
   */
  async firstHellos(boundMs: number): Promise<boolean> {
    const tried = Promise.all([...this.links.values()].map((l) => l.firstHello)).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, boundMs);
    });
    try {
      return await Promise.race([tried, bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const links = [...this.links.values()];
    this.links.clear();
    for (const link of links) link.closed = true;
    await Promise.all(links.map((l) => l.idle()));
  }

  /** Adds a peer by URL (static, discovered, or learned from a request it sent us). */
  addPeer(rawUrl: string, source: PeerSource): void {
    const url = normalizeUrl(rawUrl);
    if (!this.running || url === null || url === this.selfUrl || this.links.has(url)) return;
    const client = new PeerClient(url, {
      key: this.deps.key,
      self: { nodeId: this.deps.selfId, name: this.deps.selfName, url: this.selfUrl },
      agent: this.deps.agent,
      faults: this.deps.faults,
    });
    const link = new PeerLink(url, source, client, {
      selfId: this.deps.selfId,
      oplog: this.deps.oplog,
      changes: this.deps.changes,
      peers: this.deps.peers,
      faults: this.deps.faults,
      log: this.deps.log,
      identified: (l) => this.identified(l),
      cameUp: () => {
        this.deps.onPeerUp();
      },
      maxRetryMs: Math.min(this.deps.syncIntervalMs, MAX_RETRY_MS),
      selfName: this.deps.selfName,
    });
    this.links.set(url, link);
    link.kick({ hello: true });
  }

  /** A peer with this id and URL contacted us: make sure we can reach it too. */
  noteInbound(nodeId: string, url: string): void {
    if (nodeId === this.deps.selfId || url === '') return;
    // It answers requests, since it sends them: a link that thinks it down tries now.
    const known =
      [...this.links.values()].find((l) => l.nodeId === nodeId) ??
      this.links.get(normalizeUrl(url) ?? '');
    if (known?.state === 'up') return;
    const here = normalizeUrl(url);
    if (known && (known.url === here || here === null)) {
      known.heardFrom();
      return;
    }
    // Unknown, or known at another URL that does not answer (a site of several processes
    // speaks from another process once the one that led it is gone): try this URL too; the
    // route that answers is kept (identified()).
    known?.heardFrom();
    this.addPeer(url, 'inbound');
  }

  /** New operations committed here: push them at once. */
  onOps(ops: readonly Op[]): void {
    if (!ops.some((op) => op.origin === this.deps.selfId)) return;
    for (const link of this.links.values()) link.kick({ push: true });
  }

  /** Peers that answer, most recently seen first (where to fetch blobs from). */
  reachable(): PeerClient[] {
    return [...this.links.values()]
      .filter((l) => l.state === 'up' && !l.closed)
      .sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0))
      .map((l) => l.client);
  }

  /**
   * Every peer, those that answer first: a peer that just came back may have sent us a change
   * before our link to it noticed it is up again, and it is the one that has the bytes.
   */
  candidates(): PeerClient[] {
    const up = this.reachable();
    const rest = [...this.links.values()]
      .filter((l) => l.state !== 'up' && !l.closed)
      .map((l) => l.client);
    return [...up, ...rest];
  }

  /** The peers as known now, without their lag (no database read). */
  members(): { id: string | null; name: string | null; url: string }[] {
    return [...this.links.values()]
      .filter((l) => !l.closed)
      .map((l) => ({ id: l.nodeId, name: l.name, url: l.url }));
  }

  async status(): Promise<PeerStatus[]> {
    const mine = await this.deps.oplog.versionVector();
    const links = [...this.links.values()].filter((l) => !l.closed);
    return Promise.all(
      links.map(async (l) => {
        const missing = missingFrom(mine, l.theirVv);
        let bytes = l.theirPendingBytes;
        let ops = 0;
        for (const [origin, count] of Object.entries(missing)) {
          ops += count;
          bytes += await this.deps.oplog.createdBytesAfter(origin, l.theirVv[origin] ?? 0);
        }
        return {
          id: l.nodeId,
          name: l.name,
          url: l.url,
          source: l.source,
          state: l.state,
          lastSeen: l.lastSeen === null ? null : new Date(l.lastSeen).toISOString(),
          error: l.lastError,
          lag: { ops, bytes },
        };
      }),
    );
  }

  /** Periodic: say hello (refreshes state and the peer's vector), pull, push. */
  private cycle(): void {
    for (const link of this.links.values()) link.kick({ hello: true, pull: true, push: true });
  }

  /** Drops links that turn out to be ourselves or a second route to a known peer. */
  private identified(link: PeerLink): boolean {
    if (link.nodeId === this.deps.selfId) {
      this.links.delete(link.url);
      return false;
    }
    for (const other of this.links.values()) {
      if (other !== link && other.nodeId === link.nodeId && !other.closed) {
        // Keep the configured route over a learned one; between two of the same kind, the one
        // that answers (this one just did): a site of several processes reaches us from
        // another process's URL after the process that led it died (node/site-lead.ts).
        const keepOther =
          rank(other.source) < rank(link.source) ||
          (rank(other.source) === rank(link.source) && other.state === 'up');
        const drop = keepOther ? link : other;
        drop.closed = true;
        this.links.delete(drop.url);
        this.deps.log.debug(
          { url: drop.url, peer: link.name },
          'duplicate route to a peer dropped',
        );
        if (drop === link) return false;
      }
    }
    return true;
  }
}

function rank(source: PeerSource): number {
  return source === 'static' ? 0 : source === 'discovered' ? 1 : 2;
}

function normalizeUrl(raw: string): string | null {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch {
    return null;
  }
}
